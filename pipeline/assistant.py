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
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .conversation import Conversation, Message
from .errors import DeadlineExceeded, ThrottledError
from .screen import (
    MAX_ANSWER_CHARS,
    clean_input,
    complete_sentences,
    screen_output,
    ssml_escape,
)

if TYPE_CHECKING:
    from .history import HistoryStore
    from .models import ChatModel, ModelResult
    from .prompts import PromptTemplate
    from .settings import Settings

logger = logging.getLogger("parley.assistant")

SESSION_PREFIX = "skill#"
USER_PREFIX = "skill#user#"
CHILD = "child"
ASSISTANT = "assistant"
# Time kept back for the guardrail call, so that both fit in the deadline.
GUARDRAIL_RESERVE_S = 0.5
# How long a stored turn may be read: an Alexa session lasts minutes (it closes after
# about 8 s of silence and one reprompt), so one hour bounds it with a wide margin.
SESSION_TURN_TTL = timedelta(hours=1)
# Opt-in user memory: the per-user daily limit counts the last 24 h, no longer.
USER_MEMORY_TTL = timedelta(hours=24)

ReplyStatus = Literal[
    "answered", "deadline", "throttled", "model_error", "screened", "session_limit",
    "user_limit", "no_input",
]  # fmt: skip

# What Pip says when it cannot answer: kind, specific, and never blaming the child.
LINES: dict[str, str] = {
    "deadline": "Oops, my thinking cap is taking a little nap. Can you ask me that again?",
    "throttled": "So many friends are talking to me right now! Can you ask me again in a moment?",
    "model_error": "Oh dear, my ears got muddled and I missed that. Could you say it once more?",
    "screened": "Hmm, let's talk about something else. Shall I make a silly animal sound?",
    "session_limit": "We've had such a lot of fun chatting! Let's take a little break now and "
    "go and play with a grown-up. Bye bye!",
    "user_limit": "We've talked so much today! My ears need a rest until tomorrow. Bye bye!",
    "no_input": "I didn't quite hear you. What would you like to tell me?",
}
REPROMPT = "What would you like to talk about?"

T = TypeVar("T")


@dataclass(frozen=True)
class SessionInfo:
    """What the turn needs to know about the Alexa session."""

    session_id: str
    user_id: str | None = None
    calls_made: int = 0  # model calls already made in this session (session attributes)


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

    @property
    def answered(self) -> bool:
        return self.status == "answered"


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
    max_answer_chars: int = MAX_ANSWER_CHARS
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
        )


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


def _fallback(status: ReplyStatus, calls: int, *, end: bool = False, **extra: Any) -> Reply:
    line = LINES[status]
    return Reply(
        speech=ssml_escape(line),
        text=line,
        reprompt=None if end else ssml_escape(REPROMPT),
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


def _ask_model(companion: Companion, prompt: Any, budget_s: float) -> tuple[ModelResult, float]:
    started = time.perf_counter()
    result = call_with_deadline(
        lambda: companion.model.generate(prompt, deadline_s=budget_s), budget_s
    )
    return result, (time.perf_counter() - started) * 1000


def _guardrail_allows(companion: Companion, text: str, budget_s: float) -> bool:
    if companion.guardrail is None:
        return True
    check = companion.guardrail
    try:
        return bool(call_with_deadline(lambda: check(text), budget_s))
    except Exception as exc:  # fail closed: an unchecked answer is not spoken
        logger.warning("guardrail check failed", extra={"error": type(exc).__name__})
        return False


def reply(session: SessionInfo, utterance: str | None, companion: Companion) -> Reply:
    """Answer one thing the child said; see the module docstring."""
    started = time.perf_counter()
    deadline = started + companion.deadline_s
    calls = session.calls_made
    if calls >= companion.max_calls_per_session:
        return _fallback("session_limit", calls, end=True)
    words = clean_input(utterance)
    if not words:
        return _fallback("no_input", calls)

    now = companion.clock()
    session_id = session_conversation_id(session.session_id)
    user_id = (
        user_conversation_id(session.user_id) if companion.user_memory and session.user_id else None
    )
    window = companion.template.meta.history.messages
    if user_id:
        # The user's conversation holds every session's turns: memory and daily count.
        recent = _load(
            companion.history, user_id, max(window, 2 * companion.max_calls_per_user_day)
        )
        since = now - timedelta(days=1)
        today = sum(1 for m in recent.messages if m.sender == CHILD and m.timestamp >= since)
        if today >= companion.max_calls_per_user_day:
            return _fallback("user_limit", calls, end=True)
    else:
        recent = _load(companion.history, session_id, window)

    prompt = companion.template.render_conversation(recent, utterance=words)
    budget = deadline - time.perf_counter()
    if companion.guardrail is not None:
        budget -= GUARDRAIL_RESERVE_S
    calls += 1
    child = [
        Message(conversation_id=cid, timestamp=now, sender=CHILD, text=words)
        for cid in filter(None, (session_id, user_id))
    ]
    screen_notes: tuple[str, ...] = ()
    try:
        result, model_ms = _ask_model(companion, prompt, budget)
    except DeadlineExceeded:
        status: ReplyStatus = "deadline"
    except ThrottledError:
        status = "throttled"
    except Exception as exc:  # any model failure is spoken as a fallback, never raised
        logger.warning("model call failed", extra={"error": type(exc).__name__})
        status = "model_error"
    else:
        text = result.text
        cut_off = result.stop_reason == "max_tokens"
        if cut_off:
            text = complete_sentences(text or "")  # cut off mid-answer: whole sentences only
        screened = screen_output(text, max_chars=companion.max_answer_chars)
        if cut_off and not text:
            status = "model_error"  # nothing complete to say: ask again
        elif not screened.ok:
            status, screen_notes = "screened", screened.problems
        elif not _guardrail_allows(companion, screened.text, deadline - time.perf_counter()):
            status, screen_notes = "screened", ("guardrail",)
        else:
            status = "answered"
    if status != "answered":
        _store(companion, child)  # the child's words still give the next turn context
        elapsed = (time.perf_counter() - started) * 1000
        return _fallback(
            status, calls, screen=screen_notes, total_ms=elapsed, turns_shown=prompt.messages_shown
        )

    answered_at = max(companion.clock(), now + timedelta(microseconds=1))
    answer = [
        Message(conversation_id=m.conversation_id, timestamp=answered_at, sender=ASSISTANT,
                text=screened.text)
        for m in child
    ]  # fmt: skip
    _store(companion, [*child, *answer])
    return Reply(
        speech=screened.ssml,
        text=screened.text,
        reprompt=ssml_escape(REPROMPT),
        status="answered",
        calls_made=calls,
        model_ms=model_ms,
        screen=screened.changes,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        total_ms=(time.perf_counter() - started) * 1000,
        turns_shown=prompt.messages_shown,
    )
