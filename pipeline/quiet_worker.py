"""The wake-up worker: an SQS-triggered Lambda handler that judges quiet conversations.

Each SQS record is a `pipeline.quiet.WakeUp`. A wake-up older than the conversation's
newest stored message is dropped (that message's own wake-up is on its way, or it was
risky and judged at once). For the others the worker reads the conversation and judges
every message not yet judged, however many came in one quiet period:

- with a group template (the default), incrementally: the newest message judged here
  before is found by its verdict key (`quiet.window_mark`), and the messages after it
  are shown after `context` earlier ones (the original design's five) and the pinned
  risky ones (`quiet.incremental_windows`), never the whole window again;
- without one, or with `context=None`, in tiles anchored at the first message
  (`quiet.anchored_tiles`): a full tile judged once is found in the store, and only the
  tile still filling is judged again.

The cascade's local tier decides first, each window alone; the windows it leaves to the
second model go to it up to `max_group` in one call (`pipeline.group`), the rules paid
once. Without a group template a window is judged by the stream job's own runner
(verdict keys, pins, retries). Failed judgements are reported as `batchItemFailures`
and come back after the queue's visibility timeout; a malformed body is logged (ids
and sizes only) and dropped, since no retry can mend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import quiet as _quiet
from .coalesce import ConversationJob
from .errors import InputError
from .quiet import MAX_TILED_MESSAGES, WakeUp, anchored_tiles, incremental_windows
from .stream.budget import remaining_ms as _remaining_ms
from .stream.observability import logger
from .stream.report import JobOutcome

if TYPE_CHECKING:
    from datetime import datetime

    from .conversation import Conversation, Message
    from .history import HistoryStore
    from .prompts import PromptTemplate
    from .stream.job import ConversationRunner
    from .verdict import Verdict


#: Earlier messages shown before the new ones at a quiet point: the original design's
#: five. Two cost less (docs/cost.md) but show the model less than the original did.
DEFAULT_CONTEXT = 5


@dataclass
class WakeUpReport:
    """What one invocation did with its wake-ups (counts and ids only)."""

    judged: int = 0
    dropped_stale: int = 0
    dropped_malformed: int = 0
    failed: list[str] = field(default_factory=list)  # SQS message ids

    @property
    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.failed]}


class QuietWorker:
    """Judges the conversations whose wake-up finds them quiet."""

    def __init__(
        self,
        runner: ConversationRunner,
        history: HistoryStore,
        group_template: PromptTemplate | None = None,
        max_group: int | None = None,
        context: int | None = DEFAULT_CONTEXT,
    ) -> None:
        from .group import MAX_GROUP

        self.runner = runner
        self.history = history
        self.group_template = group_template
        # More per call pays the rules and the tool once for more conversations; the SQS
        # mapping's BatchSize bounds how many wake-ups one invocation sees.
        self.max_group = max(2, max_group or MAX_GROUP)
        # With a group template, a quiet point shows only the messages after the last one
        # judged, after `context` earlier ones (None: whole anchored tiles again).
        self.context = context if group_template is not None else None

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return self.run(event, context).response

    def run(self, event: Any, context: Any = None) -> WakeUpReport:
        report = WakeUpReport()
        remaining_ms = _remaining_ms(context)
        todo: list[_Tile] = []
        for record in (event or {}).get("Records", []):
            message_id = str(record.get("messageId", ""))
            try:
                wake = WakeUp.from_body(str(record.get("body", "")))
            except InputError:
                report.dropped_malformed += 1
                logger.warning("wake-up dropped: malformed", extra={"message_id": message_id})
                continue
            try:
                conversation = self.history.latest(wake.conversation_id, MAX_TILED_MESSAGES)
                newest = conversation.messages[-1].timestamp if conversation.messages else None
                if newest is None or wake.is_stale(newest):
                    report.dropped_stale += 1
                    continue
                pending = self._pending(message_id, conversation)
            except Exception as exc:  # the store is down: try again later
                logger.warning("wake-up failed", extra={"error": type(exc).__name__})
                report.failed.append(message_id)
                continue
            queued = {t.key for t in todo}
            pending = [t for t in pending if t.key not in queued]  # one batch, twice
            if pending:
                todo += pending
            else:
                report.judged += 1  # every tile judged already: a repeated wake-up
        answered: dict[int, Verdict] = {}
        if self.group_template is not None and todo:
            answered = self._judge_group(todo)
        # Oldest first within each wake-up, and a wake-up stops at its first window left
        # without a verdict: a later quiet point goes on from the newest one published,
        # so none may be published past a gap (the wake-up comes back for the rest).
        failed: set[str] = set()
        for index, tile in enumerate(todo):
            if tile.message_id in failed:
                continue
            verdict = answered.get(index)
            if verdict is not None:
                self._deliver(tile, verdict)
            elif tile.mark is not None or not self._judge(tile, remaining_ms):
                failed.add(tile.message_id)
                report.failed.append(tile.message_id)
        report.judged += len({tile.message_id for tile in todo} - failed)
        return report

    def _pending(self, message_id: str, conversation: Conversation) -> list[_Tile]:
        """The conversation's windows without a stored verdict, oldest first, pins added.

        Tiles are anchored at the conversation's first message (`quiet.anchored_tiles`):
        one judged at an earlier quiet point is found in the store and costs no call, so
        every message is judged at least once, however many came in one quiet period.
        Incremental (`context`): the windows after the newest message judged here before
        (`quiet.incremental_windows`), found by its key.
        """
        from .sinks import verdict_key

        judge = self.runner.judge
        risk = self.runner.risk
        state = risk.get(conversation.id) if risk is not None else None
        known = {m.timestamp: m for m in conversation.messages}
        size = self.runner.template.meta.history.messages

        def pinned(window: Conversation) -> Conversation:
            if state is None or not state.pinned:
                return window
            from .windows import with_pins

            return with_pins(window, self.runner._pins(window, state.pinned, known))

        if self.context is not None:
            assert self.group_template is not None
            ref = self.group_template.meta.ref
            alone = self.runner.template.meta.ref
            through = None
            messages = conversation.messages
            for i in range(len(messages) - 1, -1, -1):
                m = messages[i]
                single = conversation.model_copy(update={"messages": (m,)})
                # Judged here (its mark), or by the stream job at once (its newest window
                # ending there, as the runner cuts it): judged up to this message.
                upto = conversation.model_copy(
                    update={"messages": messages[max(0, i + 1 - size) : i + 1]}
                )
                newest = pinned(self.runner._fit(upto))
                probes = (
                    verdict_key(
                        conversation.id, m.timestamp, ref, digest=_quiet.window_mark(single)
                    ),
                    verdict_key(conversation.id, m.timestamp, alone, digest=newest.digest()),
                )
                existing = next((s for k in probes if (s := judge.publisher.lookup(k))), None)
                if existing is not None:
                    judge.publisher.complete(existing)  # a repeat may find it half published
                    through = m.timestamp
                    break
            windows = incremental_windows(
                conversation, through, size, self.context, self.runner._fit
            )
            return [
                _Tile(message_id, w, shown, known, _quiet.window_mark(shown))
                for w in windows
                for shown in (pinned(w),)
            ]
        refs = [self.runner.template.meta.ref]
        if self.group_template is not None:
            refs.insert(0, self.group_template.meta.ref)
        pending: list[_Tile] = []
        for tile in anchored_tiles(conversation, size, self.runner._fit):
            shown = pinned(tile)
            digest = shown.digest()
            keys = [verdict_key(shown.id, shown.last.timestamp, r, digest=digest) for r in refs]
            existing = next((s for k in keys if (s := judge.publisher.lookup(k))), None)
            if existing is not None:  # judged at an earlier quiet point, or a repeat
                judge.publisher.complete(existing)
                continue
            pending.append(_Tile(message_id, tile, shown, known))
        return pending

    def _judge_group(self, todo: list[_Tile]) -> dict[int, Verdict]:
        """Judge what it can together: index in `todo` -> its verdict, not yet published."""
        from .group import judge_windows
        from .models.cascade import CascadeModel
        from .moderation import build_verdict

        assert self.group_template is not None
        judge = self.runner.judge
        model = judge.model
        ref = self.group_template.meta.ref
        answered: dict[int, Verdict] = {}
        remote_todo: list[tuple[int, _Tile]] = []
        for index, tile in enumerate(todo):
            if isinstance(model, CascadeModel):
                prompt = self.group_template.render_conversation(tile.shown, ref="local")
                local = model.first_decides(prompt)
                if local is not None:
                    verdict = build_verdict(tile.shown, prompt, local, local.latency_ms)
                    update = {"prompt": ref, "window_digest": tile.shown.digest()}
                    answered[index] = verdict.model_copy(update=update)
                    continue
            remote_todo.append((index, tile))
        remote = model.second if isinstance(model, CascadeModel) else model
        for start in range(0, len(remote_todo), self.max_group):
            chunk = remote_todo[start : start + self.max_group]
            if len(chunk) == 1 and chunk[0][1].mark is None:
                continue  # judged alone, by the runner
            try:
                shown = [t.shown for _, t in chunk]
                verdicts = judge_windows(shown, self.group_template, remote)
            except Exception as exc:  # alone instead (whole tiles), or the wake-up returns
                logger.warning("group call failed", extra={"error": type(exc).__name__})
                continue
            for (index, _), grouped in zip(chunk, verdicts, strict=True):
                if grouped is not None:
                    answered[index] = grouped
        return answered

    def _deliver(self, tile: _Tile, verdict: Verdict) -> None:
        """Publish a tile's verdict held under a standing flag, and raise the risk state
        when it carries risk (as the stream job does for its windows)."""
        from .risk import after_verdict, carries_risk, mark_held, update
        from .windows import risky_messages

        if tile.mark is not None:
            verdict = verdict.model_copy(update={"window_digest": tile.mark})
        risk = self.runner.risk
        if risk is not None:
            verdict = mark_held(verdict, risk.get(tile.shown.id))
        self.runner.judge.publisher.deliver(verdict)
        if risk is not None and carries_risk(verdict):
            pinned = risky_messages(tile.shown)
            update(risk, tile.shown.id, lambda s: after_verdict(s, verdict, pinned))

    def _judge(self, tile: _Tile, remaining_ms: Any) -> bool:
        """One tile judged alone, as the stream job judges a checkpoint (pins, retries)."""
        if tile.mark is not None:
            return False  # the group call left it unanswered or failed: the wake-up returns
        job = ConversationJob(
            conversation_id=tile.tile.id,
            messages=tuple(tile.tile.messages),
            item_ids=(tile.message_id,),
        )
        outcome = JobOutcome(conversation_id=job.conversation_id, item_ids=job.item_ids)
        try:
            self.runner._window(tile.tile, tile.known, remaining_ms, None, outcome, job)
        except Exception as exc:  # comes back after the queue's visibility timeout
            logger.warning(
                "wake-up judgement failed",
                extra={"conversation_id": tile.tile.id, "error": type(exc).__name__},
            )
            return False
        return True


@dataclass(frozen=True)
class _Tile:
    """One tile of a quiet conversation still to judge, and the wake-up it came with."""

    message_id: str
    tile: Conversation  # the tile's own messages
    shown: Conversation  # with the pinned messages older than it
    known: dict[datetime, Message]
    mark: str | None = None  # incremental: the digest its verdict is stored under

    @property
    def key(self) -> tuple[str, datetime, str]:
        return (self.shown.id, self.shown.last.timestamp, self.mark or self.shown.digest())


def worker_from_settings() -> QuietWorker:
    """The deployed worker: the stream job's runner and history, from `PARLEY_*`."""
    from .settings import get_settings
    from .stream.build import handler_from_settings

    settings = get_settings()
    handler = handler_from_settings(settings)
    group = None
    if settings.quiet_group_prompt:
        from .prompts import open_prompt_store

        group = open_prompt_store(settings.prompts).get(settings.quiet_group_prompt)
    return QuietWorker(handler.runner, handler.history, group)


class _LazyWorker:
    """Built on the first call, kept for the container's life."""

    def __init__(self) -> None:
        self._worker: QuietWorker | None = None

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        if self._worker is None:
            self._worker = worker_from_settings()
        return self._worker(event, context)


lambda_handler = _LazyWorker()
