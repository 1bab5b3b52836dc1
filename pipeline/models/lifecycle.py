"""Which configured models Bedrock calls LEGACY, from GetFoundationModel.

Bedrock reports a model's lifecycle state (ACTIVE, LEGACY, ...) in
`modelDetails.modelLifecycle.status`. A LEGACY model stops serving at its end-of-life
date; `parley models` lists the configured ones with their state, and `legacy_warning`
gives the one log line (no text, only ids) that the evaluation prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
