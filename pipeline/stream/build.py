"""Building the stream job: from injected parts, or from the settings (the deployed job).

Import cost is kept low: no LangChain, no boto3 client at import. The deployed handler
builds its model, stores and clients on the first call and keeps them for the
container's life.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..risk import open_risk_store
from ..settings import Settings, get_settings
from ..sinks import DynamoVerdictSink, EventBridgeSink, SqliteVerdictSink, VerdictPublisher
from .handler import StreamHandler

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..history import HistoryStore
    from ..models import ChatModel
    from ..prompts import PromptTemplate


def build_handler(
    *,
    model: ChatModel,
    history: HistoryStore,
    publisher: VerdictPublisher,
    settings: Settings | None = None,
    template: PromptTemplate | None = None,
    shadow_template: PromptTemplate | None = None,
    **options: Any,
) -> StreamHandler:
    """A handler with injected model, history and sinks; prompts default to the settings'."""
    settings = settings or get_settings()
    if template is None or (shadow_template is None and settings.shadow_prompt):
        from ..prompts import open_prompt_store

        store = open_prompt_store(settings.prompts)
        template = template or store.get(settings.prompt)
        if shadow_template is None and settings.shadow_prompt:
            shadow_template = store.get(settings.shadow_prompt)
    return StreamHandler(
        model=model,
        template=template,
        shadow_template=shadow_template,
        history=history,
        publisher=publisher,
        settings=settings,
        **options,
    )


class AwsClients:
    """boto3 clients built on first use, once per container, with the settings' endpoint."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self._clients: dict[str, Any] = dict(overrides or {})
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from .. import aws

                self._clients[service] = aws.client(
                    service,
                    region_name=self.settings.region,
                    endpoint_url=self.settings.aws_endpoint_url,
                )
            return self._clients[service]


def handler_from_settings(
    settings: Settings, *, clients: dict[str, Any] | None = None, **options: Any
) -> StreamHandler:
    """Build model, history, verdict store and event sink from the settings."""
    from ..history import open_history
    from ..models import resolve

    aws = AwsClients(settings, clients)
    history_client = aws.get("dynamodb") if settings.history.startswith("dynamodb:") else None
    history = open_history(settings.history, dynamodb_client=history_client)
    if settings.verdicts_table:
        store: Any = DynamoVerdictSink(settings.verdicts_table, client=aws.get("dynamodb"))
    elif settings.verdicts_sqlite:
        store = SqliteVerdictSink(settings.verdicts_sqlite)
    else:
        raise ConfigError("set PARLEY_VERDICTS_TABLE (or PARLEY_VERDICTS_SQLITE for local runs)")
    # The EventBridge client is made on the first publish: a batch of skipped records
    # needs none.
    events = (
        EventBridgeSink(settings.event_bus, connect=lambda: aws.get("events"))
        if settings.event_bus
        else None
    )
    model = resolve(settings.model, **_model_options(settings, clients))
    if settings.model_lifecycle_check:
        from ..models.lifecycle import control_client, warn_if_legacy

        warn_if_legacy(
            [settings.model],
            client=control_client(settings),
            service="parley-stream",
            where="PARLEY_MODEL",
        )
    # A conversation's risk state beside its verdicts: once flagged, held until reviewed.
    risk = open_risk_store(
        table=settings.risk_table,
        sqlite=None if settings.verdicts_table else settings.verdicts_sqlite,
        client=aws.get("dynamodb") if settings.risk_table else None,
    )
    if settings.quiet_queue_url and "quiet" not in options:
        options["quiet"] = quiet_policy(settings, aws.get("sqs"))
    return build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(store, events),
        settings=settings,
        **{"risk": risk, **options},
    )


def quiet_policy(settings: Settings, sqs_client: Any) -> Any:
    """The quiet-period policy on the settings' queue; the local tier scores risk when the
    model is a cascade that has it loaded already."""
    from ..quiet import QuietPolicy, SqsWakeUpQueue

    assert settings.quiet_queue_url is not None
    queue = SqsWakeUpQueue(settings.quiet_queue_url, sqs_client)
    if "local:baseline" not in settings.model:
        return QuietPolicy(queue, settings.quiet_seconds)
    from ..models.local import BaselineModel

    local = BaselineModel()  # risky: above the band the cascade flags locally
    return QuietPolicy(
        queue, settings.quiet_seconds, scorer=local.score, risky_score=local.cascade_band[1]
    )


def _model_options(settings: Settings, clients: dict[str, Any] | None) -> dict[str, Any]:
    # Only Bedrock models take a client; an injected one (tests, emulator) wins.
    if not settings.model.startswith("bedrock:"):
        return {}
    if clients and "bedrock-runtime" in clients:
        return {"client": clients["bedrock-runtime"]}
    retries = bedrock_retries(settings)
    return {
        "region": settings.region,
        "endpoint_url": settings.bedrock_endpoint_url,
        "retry_mode": retries["mode"],
        "max_attempts": retries["total_max_attempts"],
    }


def bedrock_retries(settings: Settings) -> dict[str, Any]:
    """botocore's retry configuration for the stream job's Bedrock client.

    Without pacing: `adaptive` mode, whose client-side token bucket keeps the container
    under the quota. With PARLEY_MODEL_RPM: one attempt per call, so that every
    attempt, retries included, waits for a pacer slot (a botocore retry would bypass
    the pacer, and adaptive mode cuts the whole client's rate by 30% after a single
    throttle); the handler retries instead (docs/stream.md has the measurements).
    """
    if settings.model_rpm:
        return {"mode": "standard", "total_max_attempts": 1}
    return {"mode": "adaptive", "total_max_attempts": settings.max_attempts}


class LazyHandler:
    """A Lambda handler that builds its `StreamHandler` on the first call, then reuses it.

    `build(**templates)` makes the handler; `prime()` builds it ahead of the first
    call (before a SnapStart snapshot) and `rebuild()` makes it again with new
    clients but the prompt templates already loaded (after a restore).
    """

    def __init__(self, build: Callable[..., StreamHandler]) -> None:
        self._build = build
        self._handler: StreamHandler | None = None
        self._lock = threading.Lock()

    @property
    def handler(self) -> StreamHandler:
        with self._lock:
            if self._handler is None:
                self._handler = self._build()
            return self._handler

    def prime(self) -> StreamHandler:
        """Build the handler now and compile its prompt templates (no request is sent)."""
        handler = self.handler
        handler.template.precompile()
        if handler.shadow_template is not None:
            handler.shadow_template.precompile()
        return handler

    def rebuild(self) -> None:
        """Build again if built: new model, stores and clients, same templates."""
        with self._lock:
            old = self._handler
            if old is not None:
                self._handler = self._build(
                    template=old.template, shadow_template=old.shadow_template
                )

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return self.handler(event, context)


def build_handler_from_settings(
    settings: Settings | None = None, *, clients: dict[str, Any] | None = None
) -> LazyHandler:
    """The deployed handler: configuration from `PARLEY_*`, built lazily on the first call."""
    return LazyHandler(
        lambda **templates: handler_from_settings(
            settings or get_settings(), clients=clients, **templates
        )
    )
