"""One conversation of a batch: its checkpoints judged oldest first, then the shadow read.

A conversation is judged at its newest message, or at a few checkpoints when its new
messages overflow the prompt's window (`coalesce.plan_checkpoints`); an edit older than
the newest window is judged on the messages before it. One conversation's failure is
its outcome, never an exception: the others of the batch go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..coalesce import (
    ConversationJob,
    merge_window,
    oldest_edit_outside,
    plan_checkpoints,
    with_context,
)
from ..errors import ParleyError
from ..retry import is_throttle
from .observability import logger
from .report import JobOutcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..conversation import Conversation
    from ..history import HistoryStore
    from ..prompts import PromptTemplate
    from ..settings import Settings
    from .judge import WindowJudge


class NotFinished(ParleyError):
    """Too little time left for a conversation's next checkpoint: its redelivery finishes
    it (the checkpoints already stored cost no model call then)."""

    code = "NotFinished"
    retryable = True


class ConversationRunner:
    """Judges one conversation's new messages with the primary prompt (and the shadow)."""

    def __init__(
        self,
        *,
        judge: WindowJudge,
        history: HistoryStore,
        template: PromptTemplate,
        settings: Settings,
        shadow_template: PromptTemplate | None = None,
    ) -> None:
        self.judge = judge
        self.history = history
        self.template = template
        self.shadow_template = shadow_template
        self.settings = settings
        windows = [template.meta.history.messages]
        if shadow_template is not None:
            windows.append(shadow_template.meta.history.messages)
        self.window = max(windows)
        from ..prompts import fit_budget  # loaded already: the template is one of its objects

        # Checkpoints tile what the primary prompt shows: its window, cut to its budget.
        self._fit = lambda conversation: fit_budget(conversation, template.meta.history)

    def __call__(
        self, job: ConversationJob, remaining_ms: Callable[[], float], correlation_id: str | None
    ) -> JobOutcome:
        outcome = JobOutcome(conversation_id=job.conversation_id, item_ids=job.item_ids)
        if remaining_ms() < self.settings.min_remaining_ms:
            # Too little time to finish safely: leave it to the redelivery.
            outcome.status = "not_started"
            outcome.error = "NotStarted"
            outcome.retryable = True
            return outcome
        try:
            stored = self.history.latest(job.conversation_id, self.window)
            edit_at = oldest_edit_outside(stored, job)
            if edit_at is not None:
                # An edit older than the newest window: judge it on the messages before it.
                older = self.history.latest(job.conversation_id, self.window, until=edit_at)
                stored = with_context(stored, older)
            plan = plan_checkpoints(
                stored,
                job.messages,
                self.template.meta.history.messages,
                self.settings.stream_max_judgements_per_conversation,
                fit=self._fit,
            )
            outcome.unseen = plan.unseen
            if plan.unseen:
                logger.warning(
                    "flood past the checkpoints: oldest new messages not shown to the model",
                    extra={
                        "conversation_id": job.conversation_id,
                        "new_messages": len(job.messages),
                        "checkpoints": len(plan.windows),
                        "unseen": plan.unseen,
                    },
                )
            *earlier, newest = plan.windows
            fresh_earlier = False
            # Oldest first: the newest verdict, the conversation's current one, comes last.
            for window in earlier:
                verdict, duplicate, _, fresh = self.judge.deliver(
                    window, self.template, False, remaining_ms, correlation_id, outcome.stats,
                    edited=job.edited,
                )  # fmt: skip
                outcome.earlier.append((verdict, fresh and not duplicate))
                fresh_earlier = fresh_earlier or fresh
                if remaining_ms() < self.settings.min_remaining_ms:
                    raise NotFinished(f"conversation {job.conversation_id}: out of time")
            outcome.verdict, outcome.duplicate, outcome.published, fresh = self.judge.deliver(
                newest, self.template, False, remaining_ms, correlation_id, outcome.stats,
                edited=job.edited,
            )  # fmt: skip
            outcome.status = "judged" if fresh or fresh_earlier else "already_done"
        except Exception as exc:  # one conversation's failure must not fail the others
            outcome.status = "failed"
            outcome.error = getattr(exc, "code", None) or type(exc).__name__
            outcome.retryable = bool(getattr(exc, "retryable", not isinstance(exc, ParleyError)))
            logger.warning(
                "conversation failed",
                extra={
                    "conversation_id": job.conversation_id,
                    "records": len(job.item_ids),
                    "error": outcome.error,
                    "retryable": outcome.retryable,
                    "throttled": is_throttle(exc),
                    "model_calls": outcome.stats.calls,
                },
            )
            return outcome
        if self.shadow_template is not None:
            # The newest window only, at the larger of the two prompts' sizes: one shadow call.
            self._shadow(outcome, merge_window(stored, job.messages, self.window), remaining_ms)
        return outcome

    def _shadow(
        self, outcome: JobOutcome, window: Conversation, remaining_ms: Callable[[], float]
    ) -> None:
        """The dark read: same conversation, the candidate prompt; stored apart, never published."""
        assert self.shadow_template is not None
        try:
            outcome.shadow_verdict, _, _, fresh = self.judge.deliver(
                window, self.shadow_template, True, remaining_ms, None, outcome.shadow_stats
            )
            outcome.shadow_status = "judged" if fresh else "already_done"
        except Exception as exc:  # a shadow failure never fails the batch
            outcome.shadow_status = "failed"
            logger.warning(
                "shadow verdict failed",
                extra={
                    "conversation_id": outcome.conversation_id,
                    "prompt_ref": self.shadow_template.meta.ref,
                    "error": getattr(exc, "code", None) or type(exc).__name__,
                },
            )
