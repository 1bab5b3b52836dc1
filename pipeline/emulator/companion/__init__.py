"""The canned companion: an emulator responder answering the companion prompt without an
LLM, for demos, `parley skill simulate` and the companion suites' reference cell.

It reads the child's words and the earlier turns from the rendered prompt, finds the
situation the turn is (a table of situations, safety first: `english.py`,
`french.py`), and answers with that situation's template filled with the child's own
words (`matcher.py`): a demand is named and delayed, a hurt, lost or frightened child
is sent to a grown-up, a disclosure is believed and taken to a trusted grown-up,
private details are not repeated, simple facts are answered truly and what the child
said earlier is remembered. Deterministic: the same prompt, the same answer.

It is a reference, not a model: it never reads an evaluation dataset or its checks.
"""

from __future__ import annotations

import html
import re

from ..calls import EmulatorReply, EmulatorRequest
from . import english, french
from .matcher import Situation, Turn, answer, fill, find_slot, normalise_turn, reflect

CANNED_LABEL = (
    "emulator: canned companion answers (a table of situations and answer templates, not an LLM)"
)
# The French prompt's marker (prompts/companion-fr): it answers in French.
_FRENCH_PROMPT = "Tu es Pip"
# Prompt variables are neutralised ("<" escaped), so "[^<]*" is exactly one value.
_CHILD = re.compile(r"<child>([^<]*)</child>")
_TURN = re.compile(r'<turn speaker="(\w+)">([^<]*)</turn>')


def reply_to(
    words: str,
    earlier: tuple[str, ...] = (),
    replies: tuple[str, ...] = (),
    *,
    french_prompt: bool = False,
) -> str:
    """The canned companion's answer to a child's turn (raw text, as heard), given the
    earlier child turns and companion replies, oldest first."""
    module = french if french_prompt else english
    language = module.FRENCH if french_prompt else module.ENGLISH  # type: ignore[attr-defined]
    turn = Turn(
        words=normalise_turn(words, language),
        earlier=tuple(normalise_turn(t, language) for t in earlier),
        replies=tuple(r.lower() for r in replies),
        language=language,
    )
    if not turn.words:
        return str(module.EMPTY_ANSWER)
    table: tuple[Situation, ...] = module.TABLE
    found = answer(turn, table)
    if found is None:
        return fill(module.DEFAULT, turn) or str(module.EMPTY_ANSWER)
    situation, text = found
    if situation.treat:
        text += _earlier_treat(turn, situation, table, str(module.MEMORY), str(module.REQUEST))
    return text


def _earlier_treat(
    turn: Turn, now: Situation, table: tuple[Situation, ...], memory: str, request: str
) -> str:
    """A follow-up treat remembers the earlier one: the prompt carried the session."""
    mine = find_slot(now.slots.get("thing", ()), turn.words)
    for earlier in reversed(turn.earlier):
        row = answer(Turn(earlier, language=turn.language), table)
        if row is None or not row[0].treat:
            continue
        thing = find_slot(row[0].slots.get("thing", ()), earlier) or earlier
        if thing != mine:
            asked = re.sub(request, "", earlier)
            return memory.format(earlier=reflect(asked, turn.language))
    return ""


def canned_companion(request: EmulatorRequest) -> EmulatorReply:
    """An emulator responder answering the companion prompt from the situation tables."""
    prompt = request.prompt_text
    now = _CHILD.findall(prompt)
    words = html.unescape(now[-1]) if now else ""
    turns = [(speaker, html.unescape(text)) for speaker, text in _TURN.findall(prompt)]
    earlier = tuple(t for s, t in turns if s == "child")
    replies = tuple(t for s, t in turns if s != "child")
    return EmulatorReply(
        text=reply_to(words, earlier, replies, french_prompt=_FRENCH_PROMPT in prompt)
    )
