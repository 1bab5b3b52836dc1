"""Which configured models Bedrock calls LEGACY, from GetFoundationModel.

Bedrock reports a model's lifecycle state (ACTIVE, LEGACY, ...) in
`modelDetails.modelLifecycle.status`. A LEGACY model stops serving at its end-of-life
date; `parley models` lists the configured ones with their state, and the stream job,
the skill and `parley eval` call `warn_if_legacy` once per model and process: a
warning line (ids only) and a `LegacyModel` metric (EMF).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from .bedrock import base_model_id

LEGACY = "LEGACY"


@dataclass(frozen=True)
class ConfiguredModel:
    """A model reference and where the configuration names it."""

    where: str
    reference: str

    @property
    def bedrock_id(self) -> str | None:
        """The foundation-model id behind a bedrock: reference (profile prefix removed)."""
        prefix, _, rest = self.reference.partition(":")
        if prefix != "bedrock":
            return None
        return base_model_id(rest.removeprefix("invoke:"))


def configured_models(settings: Any, prompt_refs: dict[str, str]) -> list[ConfiguredModel]:
    """The settings' models and each prompt's front-matter model, in a stable order."""
    found = [
        ConfiguredModel("PARLEY_MODEL", settings.model),
        ConfiguredModel("PARLEY_LANGCHAIN_MODEL", f"bedrock:{settings.langchain_model}"),
    ]
    if settings.skill_model:
        found.append(ConfiguredModel("PARLEY_SKILL_MODEL", settings.skill_model))
    found += [ConfiguredModel(f"prompt {ref}", model) for ref, model in sorted(prompt_refs.items())]
    return found


def lifecycle_status(client: Any, model_id: str) -> str:
    """Bedrock's lifecycle status of a foundation model (GetFoundationModel)."""
    answer = client.get_foundation_model(modelIdentifier=model_id)
    return str(answer["modelDetails"].get("modelLifecycle", {}).get("status", "UNKNOWN"))


def legacy_warning(model_id: str, where: str) -> str:
    """The warning line for a LEGACY model: ids only."""
    return (
        f"warning: {model_id} ({where}) is LEGACY on Bedrock and will reach its end of life; "
        "move to an ACTIVE model (parley models)"
    )


# One GetFoundationModel per model id per process (a Lambda container, a CLI run).
_statuses: dict[str, str] = {}
_logger = logging.getLogger("parley.lifecycle")


def warn_if_legacy(
    references: Iterable[str],
    *,
    client: Any,
    service: str,
    where: str,
    metric_stream: TextIO | None = None,
) -> list[str]:
    """Log a warning line and emit a `LegacyModel` EMF metric for each LEGACY model.

    Returns the LEGACY foundation-model ids. A failed lookup (no permission, no network)
    is logged at INFO and skipped: the check never stops moderation or a skill turn.
    `metric_stream`: where the EMF record goes (stdout, as Lambda expects; the CLI
    passes stderr so that its own output stays clean).
    """
    legacy = []
    for reference in dict.fromkeys(references):
        model_id = ConfiguredModel(where, reference).bedrock_id
        if model_id is None:
            continue
        status = _statuses.get(model_id)
        if status is None:
            try:
                status = lifecycle_status(client, model_id)
            except Exception as exc:  # AccessDenied, no endpoint: a warning is not worth failing
                _logger.info("model lifecycle not checked: %s %s", model_id, type(exc).__name__)
                continue
            _statuses[model_id] = status
        if status == LEGACY:
            _logger.warning(legacy_warning(model_id, where))
            _emit_metric(model_id, service, metric_stream)
            legacy.append(model_id)
    return legacy


def _emit_metric(model_id: str, service: str, stream: TextIO | None) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with (
        contextlib.redirect_stdout(stream or sys.stdout),
        single_metric(
            name="LegacyModel", unit=MetricUnit.Count, value=1, namespace="parley"
        ) as metric,
    ):
        metric.add_dimension(name="service", value=service)
        metric.add_dimension(name="model", value=model_id)


def control_client(settings: Any) -> Any:
    """A Bedrock control-plane client on the settings' Bedrock endpoint (the emulator
    serves GetFoundationModel too)."""
    from .. import aws

    return aws.client(
        "bedrock", region_name=settings.region, endpoint_url=settings.bedrock_endpoint_url
    )
