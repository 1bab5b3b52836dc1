"""Alexa request handlers of the voice companion (ask-sdk-core) and the Lambda entry.

The built-in intents are answered here; free speech (`ChatIntent`) goes to
`pipeline.assistant.reply`, which remembers, answers in time and screens for a
child. The skill is built once per container, on the first request
(`lambda_handler`), or by `build_skill(...)` with injected model, history and
settings (tests, the CLI, the HTTPS server). Importing this module builds nothing:
no LangChain, no boto3 client.

Logs hold request ids, request types, intent names, statuses and sizes, never the
child's words or the answer.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.exceptions import AskSdkException, SerializationException
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils import get_slot, is_intent_name, is_request_type
from ask_sdk_model import RequestEnvelope
from ask_sdk_model.ui import SimpleCard
from aws_lambda_powertools import Logger

from pipeline import snapstart
from pipeline.assistant import REPROMPT, Companion, SessionInfo, forget_session, reply
from pipeline.errors import InputError, ParleyError
from pipeline.locales import ENGLISH, Voice, voice_for
from pipeline.redact import install_redaction
from pipeline.screen import ssml_escape

from . import intents
from .directives import BoundedApiClient, progressive_sender

if TYPE_CHECKING:
    from collections.abc import Callable

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_core.skill import CustomSkill
    from ask_sdk_model import Response
    from ask_sdk_model.services import ApiClient

    from pipeline.history import HistoryStore
    from pipeline.models import ChatModel
    from pipeline.prompts import PromptTemplate
    from pipeline.settings import Settings

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", "parley-skill"), stream=sys.stderr)
install_redaction(logger)

CARD_TITLE = "Pip"
# Session attribute counting model calls (Alexa echoes session attributes back).
CALLS_ATTRIBUTE = "parley_model_calls"

# The English lines (pipeline.locales has every language's).
LAUNCH_LINE = ENGLISH.launch
HELP_LINE = ENGLISH.help
GOODBYE_LINE = ENGLISH.goodbye
YES_LINE = ENGLISH.yes
NO_LINE = ENGLISH.no
FALLBACK_LINE = ENGLISH.not_understood
HOME_LINE = ENGLISH.home
ERROR_LINE = ENGLISH.error


class ForeignSkillError(ParleyError):
    """The request is for another skill id: refused, never answered."""


class InvalidEnvelopeError(InputError):
    """The event is not an Alexa request envelope: refused, never answered.

    Its message names no input value: the SDK's own errors quote the input, which may
    be a child's words, and Lambda logs an unhandled error's message.
    """


# --------------------------------------------------------------------------- helpers


def _request_fields(handler_input: HandlerInput) -> dict[str, Any]:
    request = handler_input.request_envelope.request
    intent = getattr(request, "intent", None)
    return {
        "request_id": getattr(request, "request_id", None),
        "request_type": getattr(request, "object_type", None),
        "intent": getattr(intent, "name", None),
    }


def _log(handler_input: HandlerInput, status: str, speech: str = "", **fields: Any) -> None:
    logger.info(
        "alexa request",
        extra={
            **_request_fields(handler_input),
            "status": status,
            "speech_chars": len(speech),
            **fields,
        },
    )


def _respond(
    handler_input: HandlerInput,
    text: str,
    *,
    status: str,
    end_session: bool = False,
    reprompt: str | None = None,
    card: bool = False,
    **log_fields: Any,
) -> Response:
    """Speak plain `text` (escaped here), reprompt unless the session ends, log sizes."""
    reprompt = reprompt or _voice(handler_input).reprompt or REPROMPT
    builder = handler_input.response_builder.speak(ssml_escape(text))
    if card:
        builder.set_card(SimpleCard(title=CARD_TITLE, content=text))
    if end_session:
        builder.set_should_end_session(True)
    elif reprompt:
        builder.ask(ssml_escape(reprompt))
    _log(handler_input, status, text, **log_fields)
    return builder.response


def _forget(handler_input: HandlerInput, companion: Companion) -> dict[str, Any]:
    """The session is over: delete its turns now (expiry covers a failed delete)."""
    session = handler_input.request_envelope.session
    if session is None or not session.session_id:
        return {}
    deleted = forget_session(companion, session.session_id)
    return {"turns_deleted": deleted}


def _voice(handler_input: HandlerInput) -> Voice:
    """The language of the request (`request.locale`), en-US when absent or unknown."""
    return voice_for(getattr(handler_input.request_envelope.request, "locale", None))


def _as_count(value: Any) -> int:
    # Session attributes come back from the device: trust only a plain non-negative int.
    return value if isinstance(value, int) and value >= 0 else 0


# -------------------------------------------------------------------------- handlers


class SpokenLineHandler(AbstractRequestHandler):
    """Answers a request type or built-in intents with a fixed line."""

    def __init__(
        self,
        line: str,
        *,
        intent_names: tuple[str, ...] = (),
        request_type: str | None = None,
        end_session: bool = False,
        status: str = "built_in",
    ) -> None:
        # `line` is a `Voice` field name ("launch") or, for one language only, the text.
        self.line = line
        self.intent_names = intent_names
        self.request_type = request_type
        self.end_session = end_session
        self.status = status

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if self.request_type is not None:
            return bool(is_request_type(self.request_type)(handler_input))
        return any(is_intent_name(name)(handler_input) for name in self.intent_names)

    def text(self, handler_input: HandlerInput) -> str:
        """The line in the request's language."""
        voice = _voice(handler_input)
        known = self.line in Voice.__dataclass_fields__
        return str(getattr(voice, self.line)) if known else self.line

    def handle(self, handler_input: HandlerInput) -> Response:
        return _respond(
            handler_input,
            self.text(handler_input),
            status=self.status,
            end_session=self.end_session,
        )


class GoodbyeHandler(SpokenLineHandler):
    """Cancel / Stop: say goodbye, end the session and delete its turns.

    Alexa sends no SessionEndedRequest when the skill itself ends the session.
    """

    def __init__(self, line: str, companion: Companion, *, intent_names: tuple[str, ...]):
        super().__init__(line, intent_names=intent_names, end_session=True)
        self.companion = companion

    def handle(self, handler_input: HandlerInput) -> Response:
        forgotten = _forget(handler_input, self.companion)
        return _respond(
            handler_input, self.text(handler_input), status=self.status, end_session=True,
            **forgotten,
        )  # fmt: skip


class ChatIntentHandler(AbstractRequestHandler):
    """Free speech: one companion turn (memory, deadline, screen) per request."""

    def __init__(self, companion: Companion) -> None:
        self.companion = companion

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name(intents.CHAT)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        session = handler_input.request_envelope.session
        if session is None or not session.session_id:  # Alexa always sends one with intents
            raise ValueError("ChatIntent request without a session")
        attributes = dict(handler_input.attributes_manager.session_attributes or {})
        slot = get_slot(handler_input=handler_input, slot_name=intents.UTTERANCE_SLOT)
        info = SessionInfo(
            session_id=session.session_id,
            user_id=session.user.user_id if session.user is not None else None,
            calls_made=_as_count(attributes.get(CALLS_ATTRIBUTE)),
            locale=_voice(handler_input).locale,
        )
        words = slot.value if slot is not None else None
        turn = reply(info, words, self.companion, progress=progressive_sender(handler_input))
        attributes[CALLS_ATTRIBUTE] = turn.calls_made
        handler_input.attributes_manager.session_attributes = attributes
        builder = handler_input.response_builder.speak(turn.speech)
        builder.set_card(SimpleCard(title=CARD_TITLE, content=turn.text))
        forgotten: dict[str, Any] = {}
        if turn.end_session:  # a limit ended it: no SessionEndedRequest will follow
            builder.set_should_end_session(True)
            forgotten = _forget(handler_input, self.companion)
        elif turn.reprompt:
            builder.ask(turn.reprompt)
        _log(
            handler_input,
            turn.status,
            turn.text,
            utterance_chars=len(words or ""),
            model_calls=turn.calls_made,
            model_ms=round(turn.model_ms, 1),
            turn_ms=round(turn.total_ms, 1),
            turns_shown=turn.turns_shown,
            screen=list(turn.screen),
            progressive=turn.progressive,
            first_text_ms=round(turn.first_text_ms, 1) if turn.first_text_ms is not None else None,
            locale=info.locale,
            **forgotten,
        )
        return builder.response


class SessionEndedHandler(AbstractRequestHandler):
    """The session is over (user said nothing, exceeded reprompts, or an error): no speech.

    The session's turns are deleted here: nothing needs them any more.
    """

    def __init__(self, companion: Companion) -> None:
        self.companion = companion

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type(intents.SESSION_ENDED_REQUEST)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        reason = getattr(request, "reason", None)
        error = getattr(request, "error", None)
        _log(
            handler_input,
            "session_ended",
            reason=getattr(reason, "value", reason),
            error_type=getattr(getattr(error, "object_type", None), "value", None),
            **_forget(handler_input, self.companion),
        )
        return handler_input.response_builder.response


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Anything unexpected: a kind, specific sentence, and the session stays open."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        logger.error(
            "handler failed",
            extra={**_request_fields(handler_input), "error": type(exception).__name__},
        )
        return _respond(handler_input, _voice(handler_input).error, status="error")


# ---------------------------------------------------------------------------- build


def _aws_client(service: str, settings: Settings, *, read_timeout: float) -> Any:
    from botocore.config import Config

    from pipeline import aws

    # Short timeouts: a store or a guardrail must not eat Alexa's 8 seconds.
    config = Config(
        connect_timeout=1.0,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    endpoint = (
        settings.bedrock_endpoint_url if service == "bedrock-runtime" else settings.aws_endpoint_url
    )
    return aws.client(service, region_name=settings.region, endpoint_url=endpoint, config=config)


def _locale_templates(store: Any) -> dict[str, PromptTemplate]:
    """Each other language's companion prompt; one the store lacks is logged and that
    language is answered with the default prompt."""
    from pipeline.locales import VOICES

    templates = {}
    for voice in VOICES.values():
        if voice.prompt:
            try:
                templates[voice.locale] = store.get(voice.prompt)
            except InputError:
                logger.warning("companion prompt missing", extra={"locale": voice.locale})
    return templates


def build_companion(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    history: HistoryStore | None = None,
    template: PromptTemplate | None = None,
    guardrail: Callable[[str], bool] | None = None,
) -> Companion:
    """The companion's dependencies: the given ones, else built from the settings."""
    from pipeline.assistant import BedrockGuardrail
    from pipeline.history import open_history
    from pipeline.models import resolve
    from pipeline.prompts import open_prompt_store

    if template is None:
        template = open_prompt_store(settings.prompts).get(settings.companion_prompt)
    if history is None:
        dynamodb = (
            _aws_client("dynamodb", settings, read_timeout=1.0)
            if settings.history.startswith("dynamodb:")
            else None
        )
        history = open_history(settings.history, dynamodb_client=dynamodb)
    if model is None:
        reference = settings.skill_model or template.meta.model
        options: dict[str, Any] = {}
        if reference.startswith("bedrock:"):
            options = {"region": settings.region, "endpoint_url": settings.bedrock_endpoint_url}
        model = resolve(reference, **options)
        if settings.model_lifecycle_check:
            from pipeline.models.lifecycle import control_client, warn_if_legacy

            client = control_client(settings)
            warn_if_legacy([reference], client=client, service="parley-skill", where="skill model")
    input_guardrail = None
    if guardrail is None and settings.guardrail_id:
        client = _aws_client("bedrock-runtime", settings, read_timeout=1.0)
        bedrock = BedrockGuardrail(client, settings.guardrail_id, settings.guardrail_version)
        guardrail, input_guardrail = bedrock, bedrock.check_input
    elif isinstance(guardrail, BedrockGuardrail):
        input_guardrail = guardrail.check_input
    templates = _locale_templates(open_prompt_store(settings.prompts))
    return Companion.from_settings(
        settings,
        model=model,
        template=template,
        history=history,
        guardrail=guardrail,
        input_guardrail=input_guardrail,
        templates=templates,
    )


def build_skill(
    *,
    model: ChatModel | None = None,
    history: HistoryStore | None = None,
    settings: Settings | None = None,
    template: PromptTemplate | None = None,
    guardrail: Callable[[str], bool] | None = None,
    companion: Companion | None = None,
    api_client: ApiClient | None = None,
) -> CustomSkill:
    """The skill with every handler; dependencies not given are built from settings."""
    from pipeline.settings import get_settings

    settings = settings or get_settings()
    if companion is None:
        companion = build_companion(
            settings, model=model, history=history, template=template, guardrail=guardrail
        )
    # The API client sends progressive responses (Alexa's directive service).
    builder = CustomSkillBuilder(api_client=api_client or BoundedApiClient())
    # Requests whose application id differs raise AskSdkException before any handler runs.
    builder.skill_id = settings.skill_id  # type: ignore[assignment]  # typed None in the SDK
    for handler in (
        SpokenLineHandler("launch", request_type=intents.LAUNCH_REQUEST, status="launch"),
        ChatIntentHandler(companion),
        SpokenLineHandler("help", intent_names=(intents.HELP,)),
        GoodbyeHandler("goodbye", companion, intent_names=(intents.CANCEL, intents.STOP)),
        SpokenLineHandler("yes", intent_names=(intents.YES,)),
        SpokenLineHandler("no", intent_names=(intents.NO,)),
        SpokenLineHandler("not_understood", intent_names=(intents.FALLBACK,)),
        SpokenLineHandler("home", intent_names=(intents.NAVIGATE_HOME,)),
        SessionEndedHandler(companion),
    ):
        builder.add_request_handler(handler)
    builder.add_exception_handler(CatchAllExceptionHandler())
    return builder.create()


def handle_event(skill: CustomSkill, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Run one Alexa request envelope (a dict) through the skill; return the response dict.

    A request for another skill id raises `ForeignSkillError`, anything that is not a
    request envelope `InvalidEnvelopeError` (no answer is given to either).
    """
    started = time.perf_counter()
    envelope = _envelope(skill, event)
    try:
        response = skill.invoke(request_envelope=envelope, context=context)
    except AskSdkException as exc:
        if "Skill ID Verification" not in str(exc):
            raise
        logger.warning(
            "request refused: skill id mismatch",
            extra={"request_id": getattr(envelope.request, "request_id", None)},
        )
        raise ForeignSkillError("request refused: it is for another skill id") from None
    result = cast("dict[str, Any]", skill.serializer.serialize(response))
    logger.debug("alexa response", extra={"handler_ms": (time.perf_counter() - started) * 1000})
    return result


def _envelope(skill: CustomSkill, event: Any) -> RequestEnvelope:
    """The event as a `RequestEnvelope`, or `InvalidEnvelopeError` (never the SDK's error)."""
    try:
        envelope = skill.serializer.deserialize(payload=json.dumps(event), obj_type=RequestEnvelope)
    except (SerializationException, TypeError, ValueError) as exc:
        reason = type(exc.__cause__ or exc).__name__
        logger.warning("request refused: not an Alexa request envelope", extra={"error": reason})
        raise InvalidEnvelopeError(f"not an Alexa request envelope ({reason})") from None
    # Alexa always sends both; the SDK's skill-id check reads the application id unguarded.
    system = getattr(getattr(envelope, "context", None), "system", None)
    application_id = getattr(getattr(system, "application", None), "application_id", None)
    if getattr(envelope, "request", None) is None or not application_id:
        logger.warning("request refused: not an Alexa request envelope", extra={"error": "partial"})
        raise InvalidEnvelopeError("not an Alexa request envelope (no request or application id)")
    return cast("RequestEnvelope", envelope)


_skill: CustomSkill | None = None
_companion: Companion | None = None  # the built skill's, kept for rebuild_skill()
_skill_lock = threading.Lock()


def _skill_from_settings(template: PromptTemplate | None = None) -> tuple[CustomSkill, Companion]:
    from pipeline.settings import get_settings

    settings = get_settings()
    companion = build_companion(settings, template=template)
    return build_skill(settings=settings, companion=companion), companion


def get_skill() -> CustomSkill:
    """The container's skill, built on first use from the settings."""
    global _skill, _companion
    with _skill_lock:
        if _skill is None:
            _skill, _companion = _skill_from_settings()
        return _skill


# A request envelope with the parts every Alexa request carries (System, AudioPlayer):
# deserialising it imports the SDK model classes that requests need, which the SDK
# otherwise imports during the first request.
_WARM_ENVELOPE: dict[str, Any] = {
    "version": "1.0",
    "context": {
        "System": {
            "application": {"applicationId": "warm"},
            "user": {"userId": "warm"},
            "device": {"supportedInterfaces": {"AudioPlayer": {}}},
        },
        "AudioPlayer": {"playerActivity": "IDLE"},
    },
    "request": {
        "type": "LaunchRequest",
        "requestId": "warm",
        "timestamp": "2024-01-01T00:00:00Z",
        "locale": "en-US",
    },
}


def prime_skill() -> CustomSkill:
    """Build the skill, compile its prompt and load the SDK's request classes now
    (before a SnapStart snapshot; nothing is sent)."""
    skill = get_skill()
    if _companion is not None:
        _companion.template.precompile()
    _envelope(skill, _WARM_ENVELOPE)
    return skill


def rebuild_skill() -> None:
    """After a SnapStart restore: new model, history and guardrail clients, same prompt."""
    global _skill, _companion
    with _skill_lock:
        if _skill is not None and _companion is not None:
            _skill, _companion = _skill_from_settings(template=_companion.template)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point for the Alexa Skills Kit trigger."""
    return handle_event(get_skill(), event, context)


# SnapStart: build before the snapshot, new clients after a restore (pipeline/snapstart.py).
snapstart.register(prime_skill, rebuild_skill)
