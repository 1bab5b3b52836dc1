"""Screen a model's answer before Alexa speaks it to a child (pure: no I/O).

`screen_output(text)` cleans the answer (entities decoded, text normalised by
`pipeline.normalise` so that hidden and look-alike characters cannot disguise a word,
tags and markdown removed, controls dropped, whitespace collapsed, length capped at a
sentence end) and fails it
when it holds a URL, a phone number, an e-mail address, a word from a small list
of things a 3-5 year old should not hear, or a dangerous instruction (keep a secret
from your grown-ups, play with matches or knives, climb out of a window, take
medicine, drink cleaning things, use the stove, go in the water alone, meet a
stranger) in any wording the patterns know. A warning or a grown-up's job ("never
touch the matches", "let's ask a grown-up to help with the oven") passes. The lists
are a floor, not a guarantee: Bedrock Guardrails (when configured) and the prompt do
the real work.
`ssml_escape` makes any text safe inside `<speak>`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .normalise import normalise, normalised_text

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


# Dangerous instructions: a verb aimed at a dangerous thing, within a few words. Each is
# judged on its own clause: a negation or a grown-up before it ("don't", "never", "ask a
# grown-up to", "only grown-ups") makes it a warning, not an instruction.
_FEW = r"(?:\s+\S+){0,6}?\s+"  # up to six words between the verb and the thing
_DANGER: dict[str, tuple[str, ...]] = {
    "secrecy": (
        r"\bour (?:little |special |big |own )?secret\b",
        r"\bmy (?:little|special|big) secret\b",
        r"\b(?:don'?t|do not|never|no need to|you don'?t have to|not) (?:tell|say to|ask)"
        r"(?: \S+){0,2}? (?:mummy|mommy|mum|mom|mama|daddy|dad|papa|parents?|grown ?-?ups?"
        r"|teacher|nanny|granny|grandma|grandpa)\b",
        r"\b(?:keep|keeping) (?:it|this|that|me) (?:a )?(?:secret|quiet|between us|hidden)\b",
        r"\bbetween (?:you and me|us two|me and you|just us)\b",
        r"\b(?:nobody|no one|mummy|mommy|mum|mom|daddy|dad|your parents) (?:needs|has|have)"
        r" to know\b",
        r"\b(?:mummy|mommy|mum|mom|daddy|dad|your parents|your grown ?-?ups?|they)"
        r" (?:doesn'?t|does not|don'?t|do not|won'?t|will not) (?:need|have) to know\b",
    ),
    "fire": (
        r"\b(?:play|playing|light|strike|use|get|grab|take|find|try|hold|touch|fetch)"
        + _FEW
        + r"(?:matches|match|lighters?|fire|candles?|fireworks?)\b",
        r"\bmake (?:a )?(?:fire|flame)\b",
    ),
    "sharp": (
        r"\b(?:play|playing|use|get|grab|take|hold|touch|pick up|fetch|cut|try|run)"
        + _FEW
        + r"(?:knife|knives|scissors|razors?|blades?|sharp things?|saw|needles?)\b",
    ),
    "heights": (
        r"\b(?:climb|climbing|jump|jumping|lean|leaning|crawl|go|hang|sit|stand)"
        r"(?: \S+){0,2}? (?:out of|out|through|onto|on|up to|over) (?:the |that |your |a )?"
        r"(?:big |open |bedroom )?(?:windows?|window ?sills?|balcony|roof|railings?)\b",
        r"\bopen (?:the |that |your |a )?windows? (?:and|then) (?:climb|jump|lean|go)\b",
    ),
    "medicine": (
        r"\b(?:take|eat|swallow|try|have|chew|drink|open)"
        + _FEW
        + r"(?:medicines?|pills?|tablets?|capsules?|vitamins?|cough syrup|painkillers?)\b",
    ),
    "chemicals": (
        r"\b(?:drink|taste|eat|sip|lick|mix|try|spray|swallow|open|play)"
        + _FEW
        + r"(?:bleach|cleaners?|cleaning (?:stuff|things|spray|liquid|products?)|detergent"
        r"|washing(?: -| )?up liquid|dishwasher tablets?|laundry pods?|washing pods?"
        r"|pods|polish|shampoo|perfume|petrol|paint thinner)\b",
        r"\bunder the (?:kitchen )?sink\b(?=.{0,40}\b(?:drink|taste|eat|open|play)\b)",
    ),
    "heat": (
        r"\b(?:turn on|switch on|turn up|light|touch|use|open|cook on|play with|put your"
        r" hands? on|lean on)"
        + r"(?:\s+\S+){0,3}?\s+"
        + r"(?:stove|oven|hob|cooker|burners?|kettle|iron|toaster|fireplace|heater|grill)\b",
    ),
    "water": (
        r"\b(?:go|get|jump|swim|play|climb|paddle|dive|run)(?: \S+){0,2}? (?:in|into|in to)"
        r" (?:the |a |that )?(?:bath|bathtub|pool|pond|river|lake|sea|water|canal|stream)"
        r"\b(?=[^.!?]{0,40}\b(?:by yourself|on your own|alone|without (?:a |your )?grown"
        r"|nobody|no one|no grown))",
        r"\b(?:by yourself|on your own|alone|without (?:a |your )?grown ?-?ups?)[^.!?]{0,30}"
        r"\b(?:bath|bathtub|pool|pond|river|lake|sea|canal)\b",
        r"\b(?:fill|run) (?:the |a )?bath\b",
    ),
    "strangers": (
        r"\b(?:meet|meeting|visit) (?:me|him|her|them|up|a stranger|strangers|someone|somebody"
        r"|a man|a lady|your (?:new |online |internet )?friend|people)\b",
        r"\b(?:go|goes|going|walk|ride|leave) (?:off |away )?with (?:the |a |that )?(?:\S+ )?"
        r"(?:stranger|man|lady|woman|person|someone|somebody|people|him|her|them)\b",
        r"\bget in(?:to)? (?:the |a |his |her |their |that )?(?:car|van|truck)\b",
        r"\b(?:open|answer) the door (?:to|for)\b",
        r"\b(?:tell|give|send) (?:him|her|them|the stranger|that person|your (?:online |"
        r"internet )?friend) (?:your|where you)\b",
        r"\bsend (?:him|her|them|me) (?:a )?(?:photos?|pictures?|selfies?)\b",
    ),
}
# A clause is cut at a sentence end, a comma or a semicolon, and at "and"/"but"/"or".
_CLAUSE_START = re.compile(r"(?:[.!?;,:]|\b(?:and|but|or|because|so|then)\b)\s*")
# Before the instruction in its clause: a negation or a grown-up doing it makes it safe.
_SAFE_BEFORE = re.compile(
    r"\b(?:don'?t|do not|never|not|no|mustn'?t|must not|shouldn'?t|should not|can'?t|cannot"
    r"|won'?t|isn'?t|aren'?t|without|stop|only|grown ?-?ups?|adults?|mummy|mommy|mum|mom|daddy"
    r"|dad|parents?|teacher|doctor|ask|asking|help|helps|if|when|too|never ever)\b"
)
_DANGER_RE = {
    name: [re.compile(p, re.IGNORECASE) for p in patterns] for name, patterns in _DANGER.items()
}


def _clause_before(text: str, start: int) -> str:
    """The words of the clause before position `start`."""
    head = text[:start]
    cuts = [m.end() for m in _CLAUSE_START.finditer(head)]
    return head[cuts[-1] :] if cuts else head


def dangerous_instructions(text: str) -> list[str]:
    """Kinds of dangerous instruction in text (each at most once), by `_DANGER`: a verb
    aimed at a dangerous thing that no negation or grown-up comes before in its clause."""
    normal = text.replace("\u2019", "'").lower()
    found = []
    for name, patterns in _DANGER_RE.items():
        for pattern in patterns:
            if any(
                not _SAFE_BEFORE.search(_clause_before(normal, m.start()))
                for m in pattern.finditer(normal)
            ):
                found.append(name)
                break
    return found


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
    """Plain speakable text: entities decoded, hidden characters removed as a person
    reads it (`pipeline.normalise`'s display form: accents, scripts and broken words
    kept as written, "c-o-d-e" may be a spelling lesson; the matchers read the folded
    copy), tags and markdown removed, controls dropped."""
    text = normalise(html.unescape(text), words=False).display
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
    if cleaned != _SPACE.sub(" ", normalise(raw, words=False).display).strip():
        changes.append("markup_removed")
    capped = cap_length(cleaned, max_chars)
    if capped != cleaned:
        changes.append("truncated")
    # Checked on the whole cleaned text, broken words rejoined ("m-e-e-t me"): a cut
    # must not hide what came after it.
    matched = normalised_text(cleaned)
    problems = [*find_contacts(matched), *unsafe_categories(matched)]
    problems += [d for d in dangerous_instructions(matched) if d not in problems]
    if not capped:
        problems.append("empty")
    return ScreenResult(text=capped, problems=tuple(problems), changes=tuple(changes))


def clean_input(utterance: str | None, *, max_chars: int = MAX_INPUT_CHARS) -> str:
    """The child's words as given to the prompt: plain text, bounded in size."""
    return clean_text(utterance or "")[:max_chars].strip()
