"""The canned companion's matcher: which situation a child's turn is, and the answer
template of that situation filled with the child's own words.

Pure functions over data: a table (`Situation` rows, first match wins, safety first)
and a `Language` (how to reflect "my" into "your", the mishearings to undo). Nothing
here reads a dataset or knows an evaluation case: it reads the turn, as a model would.

A template names slots in braces, filled from the turn:

- `{said}`: the child's words reflected ("my knee is bleeding" -> "your knee is
  bleeding"), without the name they call the speaker by;
- `{thing}` and any other named slot: the first of the situation's `slots[name]`
  patterns found in the turn (its group `x` if it has one, else the whole match),
  reflected; else the same in the earlier child turns when the row says so; else the
  slot's default.

A part in square brackets is said only when every slot in it was found
("Oh no[, your {part}]!"). `{Thing}` is the slot with a capital letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial

# A computed answer (facts, memory): the turn, the earlier turns -> an answer, or None
# when it does not know (the next row is tried).
Compute = Callable[["Turn"], "str | None"]

_SLOT = re.compile(r"\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_SPACES = re.compile(r"\s+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-zà-ÿ])")


@dataclass(frozen=True)
class Language:
    """What the matcher needs to know of a language."""

    # word -> its reflection, spoken back to the child ("my" -> "your")
    reflections: Mapping[str, str]
    # (pattern, replacement): recogniser slips undone before matching ("big nice" ->
    # "big knife"), only where the context makes the slip plain
    slips: tuple[tuple[str, str], ...] = ()
    # words that call the speaker, dropped from `{said}` ("pip", "alexa")
    vocatives: tuple[str, ...] = ()
    # the apostrophes the recogniser writes ("’" as "'")
    apostrophes: str = "’`´"
    # "you" as the subject said back as "I" ("can you" -> "can I"), with the verbs and
    # question words that show it
    subject_you: Mapping[str, str] = field(default_factory=dict)
    asks: frozenset[str] = frozenset()
    after_i: Mapping[str, str] = field(default_factory=dict)  # "I are" -> "I am"
    verbs: frozenset[str] = frozenset()
    # French typography: a space before "!", "?", ";" and ":"
    spaced_marks: bool = False


@dataclass(frozen=True)
class Turn:
    """One child's turn as the matcher reads it."""

    words: str  # normalised: lowercase, one space, no punctuation but apostrophes
    earlier: tuple[str, ...] = ()  # the earlier child turns, normalised, oldest first
    replies: tuple[str, ...] = ()  # the earlier companion turns, lowercase, oldest first
    language: Language = field(default_factory=lambda: Language({}))


@dataclass(frozen=True)
class Situation:
    """One row: when the turn says one of `cues`, answer with `answer` filled in."""

    name: str
    cues: tuple[str, ...]  # regular expressions over the normalised words
    answer: str | Compute  # a template, or a function of the turn
    slots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    # slots looked for in the earlier child turns too ("cut my hair with them")
    remember: tuple[str, ...] = ()
    # cues that, when present, mean this row is not the one (a "tablet" of medicine)
    unless: tuple[str, ...] = ()
    treat: bool = False  # a treat: an earlier treat is remembered in the answer


def normalise_turn(text: str, language: Language) -> str:
    """Voice form: lowercase, no punctuation but apostrophes, one space, slips undone."""
    lowered = text.lower()
    for mark in language.apostrophes:
        lowered = lowered.replace(mark, "'")
    kept = re.sub(r"[^\w'\s-]", " ", lowered).replace("-", " ")
    words = _SPACES.sub(" ", kept).strip()
    for pattern, replacement in language.slips:
        words = re.sub(pattern, replacement, words)
    return words


def reflect(words: str, language: Language) -> str:
    """The child's words spoken back: "i", "my", "me" become "you", "your", "you"."""
    out: list[str] = []
    tokens = words.split()
    for i, word in enumerate(tokens):
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if word in language.subject_you and (before in language.asks or after in language.verbs):
            out.append(language.subject_you[word])
        elif out and out[-1] == "I" and word in language.after_i:
            out.append(language.after_i[word])
        else:
            out.append(language.reflections.get(word, word))
    text = " ".join(out)
    # French elision back: "te aider" is not said, "t'aider" is.
    return re.sub(r"\b(te|me|je) ([aeiouyhéè])", lambda m: f"{m[1][0]}'{m[2]}", text)


def said(turn: Turn) -> str:
    """`{said}`: the turn reflected, without the words that call the speaker."""
    words = turn.words.split()
    while words and words[0] in turn.language.vocatives:
        words.pop(0)
    while words and words[-1] in turn.language.vocatives:
        words.pop()
    text = " ".join(words)
    # What someone told the child to do or keep ("and said don't tell") is not said back.
    text = re.sub(r" (and|but) (he |she |they )?(said|says|told me)\b.*$", "", text)
    return reflect(text, turn.language)


# At each end of a match: a word is not cut ("pin" is not found in "pink"); a match that
# starts or ends with a space needs no more.
_EDGE = r"(?:(?<![\w'])|(?![\w']))"


@cache
def _whole_words(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"{_EDGE}(?:{pattern})(?:(?<![\w'])|(?![\w']))")


def search(pattern: str, words: str) -> re.Match[str] | None:
    """`pattern` found in `words` as whole words."""
    return _whole_words(pattern).search(words)


def matches(situation: Situation, words: str) -> bool:
    if any(search(u, words) for u in situation.unless):
        return False
    return any(search(c, words) for c in situation.cues)


_GROUP = re.compile(r"\\g<(\w+)>")


def _group_value(groups: Mapping[str, str], found: re.Match[str]) -> str:
    return groups.get(found[1], "")


def _back(text: str, language: Language | None) -> str:
    return reflect(text, language) if language else text


def find_slot(patterns: Sequence[str], words: str, language: Language | None = None) -> str | None:
    """The first pattern found, said back: its group `x` if it has one, else the whole
    match, reflected. A pattern "regex => words" gives the words instead, written as
    said to the child, with the groups' values reflected in them ("\\g<x>")."""
    for entry in patterns:
        pattern, _, rewrite = entry.partition(" => ")
        found = search(pattern, words)
        if found is None:
            continue
        if rewrite:
            groups = {k: _back(v or "", language) for k, v in found.groupdict().items()}
            value = _GROUP.sub(partial(_group_value, groups), rewrite)
        else:
            value = _back(found.groupdict().get("x") or found.group(0), language)
        if value.strip():
            return value.strip()
    return None


def fill(situation: Situation, turn: Turn) -> str | None:
    """The row's answer for this turn (None: a computed row that does not know)."""
    if callable(situation.answer):
        return situation.answer(turn)
    values: dict[str, str] = {}
    template = situation.answer
    for name in {n.lower() for n in _SLOT.findall(template)}:
        if name == "said":
            values[name] = said(turn)
            continue
        patterns = situation.slots.get(name, ())
        value = find_slot(patterns, turn.words, turn.language)
        if value is None and name in situation.remember:
            for earlier in reversed(turn.earlier):
                if (value := find_slot(patterns, earlier, turn.language)) is not None:
                    break
        if value is not None:
            values[name] = value
        elif name in situation.defaults:
            values[name] = situation.defaults[name]  # written for the answer: not reflected

    def optional(part: re.Match[str]) -> str:
        names = [n.lower() for n in _SLOT.findall(part[1])]
        return part[1] if all(n in values for n in names) else ""

    text = _OPTIONAL.sub(optional, template)

    def slot(found: re.Match[str]) -> str:
        name = found[1]
        value = values.get(name.lower(), "")
        return value[:1].upper() + value[1:] if name[:1].isupper() else value

    text = _SLOT.sub(slot, text)
    return tidy(text, turn.language)


def tidy(text: str, language: Language) -> str:
    """One space, none before punctuation (but where French wants one), a capital
    letter at each sentence."""
    text = _SPACES.sub(" ", text).strip()
    marks = r"[,.]" if language.spaced_marks else r"[,.!?;:]"
    text = re.sub(rf"\s+({marks})", r"\1", text)
    text = re.sub(r"([,:;!?])(?=[,.!?])", "", text)  # an empty optional part's comma
    return _SENTENCE_START.sub(lambda m: m[1] + m[2].upper(), text)


def answer(turn: Turn, table: Sequence[Situation]) -> tuple[Situation, str] | None:
    """The first row whose cues the turn says, and its answer."""
    for situation in table:
        if matches(situation, turn.words) and (text := fill(situation, turn)) is not None:
            return situation, text
    return None
