"""One voice turn of the companion: remember, ask the model in time, screen, answer.

`reply(session, utterance, companion)` loads the session's recent turns, renders the
companion prompt, calls the model under a hard deadline (a worker thread: a model
that ignores its own `deadline_s` still cannot make the turn late), screens the
answer for a child and stores both turns. Every failure becomes a friendly spoken
fallback with a reprompt; the session stays usable. Nothing here logs text.

A child's words are kept only as long as the session needs them: each stored turn
expires (`session_ttl`, 1 h; `user_memory_ttl`, 24 h for opt-in user memory, which the
daily limit counts over) and `forget_session` deletes the session's turns when it ends.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .answer_stream import AnswerStream
from .conversation import Conversation, Message
from .errors import DeadlineExceeded, ThrottledError
from .locales import ENGLISH, Voice, locale_unsafe_categories, voice_for
from .screen import (
    MAX_ANSWER_CHARS,
    clean_input,
    complete_sentences,
    screen_output,
    ssml_escape,
)

if TYPE_CHECKING:
    from .history import HistoryStore
    from .models import ChatModel
    from .models.bedrock_stream import StreamEvent
    from .prompts import PromptTemplate, RenderedPrompt
    from .settings import Settings

logger = logging.getLogger("parley.assistant")

SESSION_PREFIX = "skill#"
USER_PREFIX = "skill#user#"
CHILD = "child"
ASSISTANT = "assistant"
# Time kept back for the guardrail call, so that both fit in the deadline.
GUARDRAIL_RESERVE_S = 0.5
# The child's words are checked before the model sees them, within this bound.
INPUT_GUARDRAIL_S = 1.0
# Alexa's own limit for a progressive response's call; it never delays the answer.
PROGRESSIVE_TIMEOUT_S = 1.0
# How long a stored turn may be read: an Alexa session lasts minutes (it closes after
# about 8 s of silence and one reprompt), so one hour bounds it with a wide margin.
SESSION_TURN_TTL = timedelta(hours=1)
# Opt-in user memory: the per-user daily limit counts the last 24 h, no longer.
USER_MEMORY_TTL = timedelta(hours=24)

ReplyStatus = Literal[
    "answered", "partial", "deadline", "throttled", "model_error", "screened", "input_blocked",
    "session_limit", "user_limit", "no_input",
]  # fmt: skip

# What Pip says when it cannot answer (English; other languages: pipeline.locales).
LINES: dict[str, str] = ENGLISH.fallbacks
REPROMPT = ENGLISH.reprompt

T = TypeVar("T")


@dataclass(frozen=True)
class SessionInfo:
    """What the turn needs to know about the Alexa session."""

    session_id: str
    user_id: str | None = None
    calls_made: int = 0  # model calls already made in this session (session attributes)
    locale: str = "en-US"  # the request's locale: the language Pip answers in


@dataclass(frozen=True)
class Reply:
    """What Alexa should say: `speech`/`reprompt` are SSML-safe, `text` is plain."""

    speech: str
    text: str
    reprompt: str | None
    status: ReplyStatus
    calls_made: int
    end_session: bool = False
    model_ms: float = 0.0
    total_ms: float = 0.0
    screen: tuple[str, ...] = ()
    turns_shown: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    progressive: bool = False  # a progressive response was sent while the model worked
    first_text_ms: float | None = None  # when the model's first words arrived

    @property
    def answered(self) -> bool:
        """The model's words were spoken (whole, or its complete sentences at the deadline)."""
        return self.status in ("answered", "partial")


@dataclass(frozen=True)
class InputCheck:
    """The guardrail's word on what the child said.

    `action` "none": use the words as said; "anonymized": use `text` (personal details
    replaced); "blocked": do not ask the model. `care`: the block was for a risk to
    the child (self-harm, secrets with adults, …): Pip speaks `message`, which sends
    the child to a grown-up.
    """

    action: Literal["none", "anonymized", "blocked"]
    text: str
    care: bool = False
    message: str = ""
    reasons: tuple[str, ...] = ()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Companion:
    """The companion's dependencies and limits (built once per container)."""

    model: ChatModel
    template: PromptTemplate
    history: HistoryStore
    deadline_s: float = 6.0
    max_calls_per_session: int = 30
    max_calls_per_user_day: int = 200
    user_memory: bool = False
    guardrail: Callable[[str], bool] | None = None
    input_guardrail: Callable[[str], InputCheck] | None = None
    max_answer_chars: int = MAX_ANSWER_CHARS
    stream: bool = True  # ConverseStream where the model supports it
    progressive_after_s: float | None = 1.0  # None: never send a progressive response
    templates: dict[str, PromptTemplate] = field(default_factory=dict)  # by locale
    clock: Callable[[], datetime] = field(default=_utcnow)
    session_ttl: timedelta = SESSION_TURN_TTL
    user_memory_ttl: timedelta = USER_MEMORY_TTL

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        model: ChatModel,
        template: PromptTemplate,
        history: HistoryStore,
        guardrail: Callable[[str], bool] | None = None,
        input_guardrail: Callable[[str], InputCheck] | None = None,
        templates: dict[str, PromptTemplate] | None = None,
    ) -> Companion:
        """Limits and switches from the settings; dependencies as given."""
        return cls(
            model=model,
            template=template,
            history=history,
            deadline_s=settings.model_deadline_s,
            max_calls_per_session=settings.skill_max_calls_per_session,
            max_calls_per_user_day=settings.skill_max_calls_per_user_day,
            user_memory=settings.skill_user_memory,
            guardrail=guardrail,
            input_guardrail=input_guardrail,
            stream=settings.skill_stream,
            progressive_after_s=settings.skill_progressive_after_s,
            templates=dict(templates or {}),
        )

    def template_for(self, locale: str) -> PromptTemplate:
        """The companion prompt of the locale's language, else the default one."""
        return self.templates.get(voice_for(locale).locale, self.template)


class BedrockGuardrail:
    """Bedrock Guardrails' ApplyGuardrail on an answer (source OUTPUT), as a screen check."""

    def __init__(self, client: Any, guardrail_id: str, version: str = "DRAFT") -> None:
        self.client = client
        self.guardrail_id = guardrail_id
        self.version = version

    def __call__(self, text: str) -> bool:
        """True when the guardrail lets the text through (action NONE)."""
        response = self.client.apply_guardrail(
            guardrailIdentifier=self.guardrail_id,
            guardrailVersion=self.version,
            source="OUTPUT",
            content=[{"text": {"text": text}}],
        )
        return bool(response.get("action") != "GUARDRAIL_INTERVENED")

    def check_input(self, text: str) -> InputCheck:
        """ApplyGuardrail on the child's words (source INPUT)."""
        response = self.client.apply_guardrail(
            guardrailIdentifier=self.guardrail_id,
            guardrailVersion=self.version,
            source="INPUT",
            content=[{"text": {"text": text}}],
        )
        return input_check(response, text, care_topics=self.care_topics)

    @property
    def care_topics(self) -> frozenset[str]:
        from .guardrail_policy import load_policy

        return frozenset(t.name for t in load_policy().topics if t.care)


def input_check(response: dict[str, Any], text: str, *, care_topics: frozenset[str]) -> InputCheck:
    """An `InputCheck` from an ApplyGuardrail response on the child's words (pure)."""
    if response.get("action") != "GUARDRAIL_INTERVENED":
        return InputCheck("none", text)
    outputs = response.get("outputs") or []
    replaced = "".join(str(o.get("text", "")) for o in outputs)
    blocked: list[str] = []
    care = False
    for assessment in response.get("assessments") or []:
        for topic in (assessment.get("topicPolicy") or {}).get("topics", []):
            if topic.get("action") == "BLOCKED":
                blocked.append(f"topic:{topic.get('name')}")
                care = care or topic.get("name") in care_topics
        for item in (assessment.get("contentPolicy") or {}).get("filters", []):
            if item.get("action") == "BLOCKED":
                blocked.append(f"content:{item.get('type')}")
        words = assessment.get("wordPolicy") or {}
        for item in [*words.get("customWords", []), *words.get("managedWordLists", [])]:
            if item.get("action") == "BLOCKED":
                blocked.append("words")
        pii = assessment.get("sensitiveInformationPolicy") or {}
        for item in [*pii.get("piiEntities", []), *pii.get("regexes", [])]:
            if item.get("action") == "BLOCKED":
                blocked.append(f"pii:{item.get('type') or item.get('name')}")
    if blocked or not replaced:
        return InputCheck("blocked", "", care=care, message=replaced, reasons=tuple(blocked))
    return InputCheck("anonymized", replaced, reasons=("pii",))


def session_conversation_id(session_id: str) -> str:
    """History id of a session (the stream job skips the `skill#` prefix)."""
    return f"{SESSION_PREFIX}{session_id}"


def user_conversation_id(user_id: str) -> str:
    """History id of a user across sessions: a hash, never the Alexa user id itself."""
    return f"{USER_PREFIX}{hashlib.sha256(user_id.encode()).hexdigest()[:32]}"


def forget_session(companion: Companion, session_id: str) -> int | None:
    """Delete a session's turns (its end); None if the store failed (expiry still applies)."""
    conversation_id = session_conversation_id(session_id)
    try:
        return companion.history.forget(conversation_id)
    except Exception as exc:  # the turns still expire: log by id, never fail the request
        logger.warning(
            "history delete failed",
            extra={"conversation_id": conversation_id, "error": type(exc).__name__},
        )
        return None


def call_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    """Run `fn` in a daemon thread; raise `DeadlineExceeded` if it takes over `timeout_s`.

    A daemon thread, not a pool: a hung call must neither hold a pool slot nor keep
    the process from exiting.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)

    threading.Thread(target=run, name="parley-deadline-call", daemon=True).start()
    try:
        return future.result(timeout=max(0.0, timeout_s))
    except concurrent.futures.TimeoutError:
        raise DeadlineExceeded(f"call exceeded its {timeout_s:.2f} s deadline") from None


def _fallback(
    status: ReplyStatus, calls: int, voice: Voice = ENGLISH, *, end: bool = False, **extra: Any
) -> Reply:
    line = voice.fallbacks[status]
    return Reply(
        speech=ssml_escape(line),
        text=line,
        reprompt=None if end else ssml_escape(voice.reprompt),
        status=status,
        calls_made=calls,
        end_session=end,
        **extra,
    )


def _load(history: HistoryStore, conversation_id: str, limit: int) -> Conversation:
    try:
        return history.latest(conversation_id, limit)
    except Exception as exc:  # memory is a nicety: a turn without it still answers
        logger.warning(
            "history read failed",
            extra={"conversation_id": conversation_id, "error": type(exc).__name__},
        )
        return Conversation(id=conversation_id, messages=())


def _store(companion: Companion, messages: list[Message]) -> None:
    now = companion.clock()
    for message in messages:
        user = message.conversation_id.startswith(USER_PREFIX)
        expires_at = now + (companion.user_memory_ttl if user else companion.session_ttl)
        try:
            companion.history.append(message, expires_at=expires_at)
        except Exception as exc:  # the answer matters more than the memory of it
            logger.warning(
                "history write failed",
                extra={"conversation_id": message.conversation_id, "error": type(exc).__name__},
            )


def _start_answer(companion: Companion, prompt: RenderedPrompt, budget_s: float) -> AnswerStream:
    """The model's answer on a worker thread: streamed where the model can, else whole."""
    from .models.bedrock_stream import StreamEvent, stream_text, supports_streaming

    model = companion.model
    if companion.stream and supports_streaming(model):
        streamed = model
        return AnswerStream.start(lambda: stream_text(streamed, prompt, budget_s))

    def whole() -> list[StreamEvent]:
        result = model.generate(prompt, deadline_s=budget_s)
        return [
            StreamEvent(
                text=result.text or "",
                stop_reason=result.stop_reason or "end_turn",
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
            )
        ]

    return AnswerStream.start(whole)


def _send_progressive(progress: Callable[[str], None], line: str) -> None:
    """Send the progressive response on its own daemon thread: it never delays the turn."""

    def send() -> None:
        try:
            progress(line)
        except Exception as exc:  # a lost "let me think" costs nothing: log and go on
            logger.info("progressive response failed", extra={"error": type(exc).__name__})

    threading.Thread(target=send, name="parley-progressive", daemon=True).start()


def _check_input(companion: Companion, words: str) -> InputCheck:
    if companion.input_guardrail is None:
        return InputCheck("none", words)
    check = companion.input_guardrail
    try:
        return call_with_deadline(lambda: check(words), INPUT_GUARDRAIL_S)
    except Exception as exc:
        # Fail open here, closed on the answer: a disclosure must still reach a model
        # told to send the child to a grown-up, and every answer is still checked.
        logger.warning("input guardrail check failed", extra={"error": type(exc).__name__})
        return InputCheck("none", words)


def _guardrail_allows(companion: Companion, text: str, budget_s: float) -> bool:
    if companion.guardrail is None:
        return True
    check = companion.guardrail
    try:
        return bool(call_with_deadline(lambda: check(text), budget_s))
    except Exception as exc:  # fail closed: an unchecked answer is not spoken
        logger.warning("guardrail check failed", extra={"error": type(exc).__name__})
        return False


def _screened(
    companion: Companion, text: str, locale: str, deadline: float
) -> tuple[ReplyStatus, Any, tuple[str, ...]]:
    """The screen, the locale's screen words and the guardrail on text to be spoken."""
    screened = screen_output(text, max_chars=companion.max_answer_chars)
    problems = (*screened.problems, *locale_unsafe_categories(screened.text, locale))
    if problems:
        return "screened", screened, tuple(problems)
    if not _guardrail_allows(companion, screened.text, deadline - time.perf_counter()):
        return "screened", screened, ("guardrail",)
    return "answered", screened, ()


def reply(
    session: SessionInfo,
    utterance: str | None,
    companion: Companion,
    *,
    progress: Callable[[str], None] | None = None,
) -> Reply:
    """Answer one thing the child said; see the module docstring.

    `progress(line)` sends Alexa a progressive response; it is called (on its own
    thread) when the answer is not ready after `companion.progressive_after_s`.
    """
    started = time.perf_counter()
    deadline = started + companion.deadline_s
    voice = voice_for(session.locale)
    calls = session.calls_made
    if calls >= companion.max_calls_per_session:
        return _fallback("session_limit", calls, voice, end=True)
    words = clean_input(utterance)
    if not words:
        return _fallback("no_input", calls, voice)
    checked = _check_input(companion, words)
    if checked.action == "blocked":
        # Nothing of it is stored or sent on. A risk to the child gets "tell a grown-up"
        # in the child's language; anything else a change of subject.
        turn = _fallback("input_blocked", calls, voice, screen=checked.reasons)
        if checked.care:
            turn = dataclasses.replace(turn, speech=ssml_escape(voice.care), text=voice.care)
        return dataclasses.replace(turn, total_ms=(time.perf_counter() - started) * 1000)
    words = checked.text

    now = companion.clock()
    session_id = session_conversation_id(session.session_id)
    user_id = (
        user_conversation_id(session.user_id) if companion.user_memory and session.user_id else None
    )
    template = companion.template_for(session.locale)
    window = template.meta.history.messages
    if user_id:
        # The user's conversation holds every session's turns: memory and daily count.
        recent = _load(
            companion.history, user_id, max(window, 2 * companion.max_calls_per_user_day)
        )
        since = now - timedelta(days=1)
        today = sum(1 for m in recent.messages if m.sender == CHILD and m.timestamp >= since)
        if today >= companion.max_calls_per_user_day:
            return _fallback("user_limit", calls, voice, end=True)
    else:
        recent = _load(companion.history, session_id, window)

    prompt = template.render_conversation(recent, utterance=words)
    budget = deadline - time.perf_counter()
    if companion.guardrail is not None:
        budget -= GUARDRAIL_RESERVE_S
    model_deadline = time.perf_counter() + budget
    calls += 1
    child = [
        Message(conversation_id=cid, timestamp=now, sender=CHILD, text=words)
        for cid in filter(None, (session_id, user_id))
    ]
    answer = _start_answer(companion, prompt, budget)
    progressive = False
    wait_first = companion.progressive_after_s
    if (
        progress is not None
        and wait_first is not None
        and wait_first < budget
        and not answer.wait(wait_first)
    ):
        _send_progressive(progress, voice.thinking)
        progressive = True
    finished = answer.wait(model_deadline - time.perf_counter())
    model_ms = (time.perf_counter() - started) * 1000
    received = answer.text
    first_text_ms = (
        (answer.first_text_at - started) * 1000 if answer.first_text_at is not None else None
    )
    screen_notes: tuple[str, ...] = ()
    status: ReplyStatus
    text = ""
    if finished and answer.error is None:
        text = received
        cut_off = answer.stop_reason == "max_tokens"
        if cut_off:
            text = complete_sentences(text)  # cut off mid-answer: whole sentences only
        status = "answered" if text or not cut_off else "model_error"
    else:
        # The deadline (or an error mid-answer): the complete sentences so far, if any.
        text = complete_sentences(received)
        if text:
            status = "partial"
        elif not finished or isinstance(answer.error, DeadlineExceeded):
            status = "deadline"
        elif isinstance(answer.error, ThrottledError):
            status = "throttled"
        else:
            logger.warning("model call failed", extra={"error": type(answer.error).__name__})
            status = "model_error"
    screened = None
    if status in ("answered", "partial"):
        verdict, screened, screen_notes = _screened(companion, text, session.locale, deadline)
        if verdict == "screened":
            status = "screened"
    extra: dict[str, Any] = {
        "progressive": progressive,
        "first_text_ms": first_text_ms,
        "turns_shown": prompt.messages_shown,
    }
    if status not in ("answered", "partial") or screened is None:
        _store(companion, child)  # the child's words still give the next turn context
        elapsed = (time.perf_counter() - started) * 1000
        return _fallback(status, calls, voice, screen=screen_notes, total_ms=elapsed, **extra)

    answered_at = max(companion.clock(), now + timedelta(microseconds=1))
    said = [
        Message(conversation_id=m.conversation_id, timestamp=answered_at, sender=ASSISTANT,
                text=screened.text)
        for m in child
    ]  # fmt: skip
    _store(companion, [*child, *said])
    return Reply(
        speech=screened.ssml,
        text=screened.text,
        reprompt=ssml_escape(voice.reprompt),
        status=status,
        calls_made=calls,
        model_ms=model_ms,
        screen=screened.changes,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        total_ms=(time.perf_counter() - started) * 1000,
        **extra,
    )
