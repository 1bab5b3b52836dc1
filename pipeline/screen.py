"""Screen a model's answer before Alexa speaks it to a child (pure: no I/O).

`screen_output(text)` cleans the answer (entities decoded, text normalised by
`pipeline.normalise` so that hidden and look-alike characters cannot disguise a word,
tags and markdown removed, controls dropped, whitespace collapsed, length capped at a
sentence end) and fails it
when it holds a URL, a phone number, an e-mail address or a word from a small list
of things a 3-5 year old should not hear. The word list is a floor, not a
guarantee: Bedrock Guardrails (when configured) and the prompt do the real work.
`ssml_escape` makes any text safe inside `<speak>`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .normalise import normalised_text

MAX_ANSWER_CHARS = 600
MAX_INPUT_CHARS = 500

# A tag starts with a letter, "/", "!" or "?": "3 < 5 and 6 > 4" is text, not markup.
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
_MARKDOWN = re.compile(r"[*_`#~|]+")
# Controls and lone surrogates (which no store can encode); zero-width and bidi marks
# are gone already (pipeline.normalise removes every default-ignorable character).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
_URL = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+\.(?:com|org|net|edu|gov|io|co|uk|us|de|fr"
    r"|app|ly|me|tv|gg|xyz|info|biz|link|site|online|shop)\b|\bdot com\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\w+ at \w+ dot \w+\b", re.IGNORECASE)
# Digit runs with separators; judged by `_is_phone` (counting "1, 2, 3" is not a number).
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s().-]{4,}\d")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")

# A floor for a child's ears, matched on whole words, case-insensitively.
UNSAFE_TERMS: dict[str, tuple[str, ...]] = {
    "violence": ("kill you", "kill yourself", "murder", "gun", "guns", "rifle", "pistol", "bomb",
                 "stab", "shoot you", "suicide", "weapon", "weapons"),
    "substances": ("beer", "wine", "vodka", "whisky", "whiskey", "alcohol", "drunk", "cigarette",
                   "cigarettes", "vape", "cocaine", "heroin", "marijuana", "weed", "drugs"),
    "sexual": ("sex", "sexy", "porn", "naked", "nude"),
    "insults": ("stupid", "idiot", "dumb", "shut up", "hate you"),
    "profanity": ("damn", "shit", "fuck", "fucking", "bitch", "bastard", "crap", "ass", "hell"),
    "secrecy": ("our secret", "keep it a secret", "keep this a secret", "don't tell your mom",
                "don't tell your dad", "don't tell your parents", "don't tell anyone",
                "where do you live", "your address", "meet me"),
}  # fmt: skip
_UNSAFE = re.compile(
    r"\b(?:" + "|".join(re.escape(t) for terms in UNSAFE_TERMS.values() for t in terms) + r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ScreenResult:
    """A screened answer: `text` to show (plain), `ssml` to speak, and what was found.

    `problems` fail the screen (the caller speaks a fallback); `changes` are repairs
    that were made and do not fail it (markup removed, truncated).
    """

    text: str
    problems: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def ssml(self) -> str:
        return ssml_escape(self.text)


def ssml_escape(text: str) -> str:
    """Escape `&`, `<`, `>` so that text is literal inside SSML `<speak>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clean_text(text: str) -> str:
    """Plain speakable text: entities decoded, normalised (`pipeline.normalise`), tags and
    markdown removed, controls dropped."""
    text = normalised_text(html.unescape(text))
    text = _TAG.sub(" ", text)
    text = _MARKDOWN.sub(" ", text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def cap_length(text: str, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """Cut text longer than `max_chars` at its last sentence end (else at a word)."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 3:
        return head[: ends[-1]].strip()
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(",;: ") + "."


def complete_sentences(text: str) -> str:
    """Text up to its last sentence end; "" when no sentence is complete.

    For an answer the model was cut off in (stop reason `max_tokens`): a child should
    not hear half a word, nor a sentence whose end (perhaps a "but never …") is missing.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].strip() if ends else ""


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    groups = [g for g in re.split(r"\D+", candidate) if g]
    return len(digits) >= 7 and max(len(g) for g in groups) >= 3


def find_contacts(text: str) -> list[str]:
    """Kinds of contact details in text: "url", "email", "phone" (each at most once)."""
    found = []
    if _EMAIL.search(text):
        found.append("email")
    if _URL.search(_EMAIL.sub(" ", text)):
        found.append("url")
    if any(_is_phone(m.group(0)) for m in _DIGIT_RUN.finditer(text)):
        found.append("phone")
    return found


def unsafe_categories(text: str) -> list[str]:
    """Categories of `UNSAFE_TERMS` that occur in text (normalised apostrophes)."""
    normal = text.replace("\u2019", "'")
    hits = {m.group(0).lower() for m in _UNSAFE.finditer(normal)}
    return [name for name, terms in UNSAFE_TERMS.items() if hits.intersection(terms)]


def screen_output(text: str | None, *, max_chars: int = MAX_ANSWER_CHARS) -> ScreenResult:
    """Clean and check a model answer for a child; see the module docstring."""
    raw = text or ""
    cleaned = clean_text(raw)
    changes = []
    if cleaned != _SPACE.sub(" ", normalised_text(raw)).strip():
        changes.append("markup_removed")
    capped = cap_length(cleaned, max_chars)
    if capped != cleaned:
        changes.append("truncated")
    # Checked on the whole cleaned text: a cut must not hide what came after it.
    problems = [*find_contacts(cleaned), *unsafe_categories(cleaned)]
    if not capped:
        problems.append("empty")
    return ScreenResult(text=capped, problems=tuple(problems), changes=tuple(changes))


def clean_input(utterance: str | None, *, max_chars: int = MAX_INPUT_CHARS) -> str:
    """The child's words as given to the prompt: plain text, bounded in size."""
    return clean_text(utterance or "")[:max_chars].strip()
