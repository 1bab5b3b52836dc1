"""Judge one window once and deliver its verdict: stored first, then published.

A window's verdict key ends with the digest of its texts, so a redelivery finds the
stored verdict and costs no model call; the model is called with bounded retries
(paced when the container has a share of the quota).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, NamedTuple

from ..moderation import assess
from ..retry import Pacer, RetryStats, call_with_retries
from ..sinks import StoredVerdict, VerdictPublisher, verdict_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from ..conversation import Conversation
    from ..models import ChatModel
    from ..prompts import PromptTemplate
    from ..settings import Settings
    from ..verdict import Verdict

RETRY_ATTEMPTS = 4


class Delivered(NamedTuple):
    """A window's verdict and what this call did with it."""

    verdict: Verdict
    duplicate: bool  # the store had it already (a redelivery, or a concurrent writer)
    published: bool
    fresh: bool  # judged by this call (a model call was made)


class WindowJudge:
    """The model, the verdict publisher and the retry policy of one container."""

    def __init__(
        self,
        *,
        model: ChatModel,
        publisher: VerdictPublisher,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        retry_attempts: int = RETRY_ATTEMPTS,
        retry_base_s: float = 0.25,
    ) -> None:
        self.model = model
        self.publisher = publisher
        self.settings = settings
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.retry_base_s = retry_base_s
        # One pacer per container: its calls stay under its share of the quota.
        self.pacer = Pacer(settings.model_rpm) if settings.model_rpm else None
        # Paced calls make one HTTP attempt each (bedrock_retries): the handler retries more.
        self.retry_attempts = (
            max(retry_attempts, settings.max_attempts) if self.pacer else retry_attempts
        )

    def deliver(
        self,
        window: Conversation,
        template: PromptTemplate,
        shadow: bool,
        remaining_ms: Callable[[], float],
        correlation_id: str | None,
        stats: RetryStats,
        edited: frozenset[datetime] = frozenset(),
    ) -> Delivered:
        """Judge unless already stored, then deliver.

        The key ends with the digest of the window's texts: the same texts are judged
        once, whatever the redeliveries; an edited text is judged again.
        """
        digest = window.digest()
        key = verdict_key(
            window.id, window.last.timestamp, template.meta.ref, shadow=shadow, digest=digest
        )
        existing: StoredVerdict | None = self.publisher.lookup(key)
        if existing is not None:
            # A redelivery: no second model call; finish publishing if a crash interrupted it.
            return Delivered(existing.verdict, True, self.publisher.complete(existing), False)
        reserve_ms = self.settings.min_remaining_ms
        verdict = call_with_retries(
            lambda: self._assess(window, template),
            time_left_s=lambda: (remaining_ms() - reserve_ms) / 1000,
            max_attempts=self.retry_attempts,
            base_s=self.retry_base_s,
            sleep=self.sleep,
            rng=self.rng,
            stats=stats,
            backoff_on_throttle=self.pacer is None,
        )
        verdict = verdict.model_copy(
            update={
                "window_digest": digest,
                "edited": any(m.timestamp in edited for m in window.messages),
            }
        )
        delivery = self.publisher.deliver(verdict, shadow=shadow, correlation_id=correlation_id)
        return Delivered(delivery.stored.verdict, delivery.duplicate, delivery.published, True)

    def _assess(self, window: Conversation, template: PromptTemplate) -> Verdict:
        if self.pacer is not None:
            self.pacer.wait()
        return assess(window, template, self.model)
