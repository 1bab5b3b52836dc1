"""What Pip says, per Alexa locale: fixed lines, the companion prompt, extra screen words.

The skill answers in the request's locale (`request.locale`): `voice_for("fr-FR")`
gives the French lines and prompt; an unknown locale falls back to its language, then
to en-US. Fixed lines are the only words the skill speaks that no model wrote: each is
kind, specific and never blames the child.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_LOCALE = "en-US"


@dataclass(frozen=True)
class Voice:
    """Pip in one language."""

    locale: str
    prompt: str | None  # companion prompt id@version; None: the settings' companion prompt
    fallbacks: dict[str, str]  # reply status -> line
    reprompt: str
    thinking: str  # the progressive response while the answer is on its way
    care: str  # the child's words showed a risk to the child (the guardrail blocked them)
    launch: str
    help: str
    goodbye: str
    yes: str
    no: str
    not_understood: str
    home: str
    error: str
    # Extra words the answer screen fails in this language (category -> phrases): the
    # shared list in pipeline/screen.py is English.
    unsafe_terms: dict[str, tuple[str, ...]] = field(default_factory=dict)


ENGLISH = Voice(
    locale="en-US",
    prompt=None,
    fallbacks={
        "deadline": "Oops, my thinking cap is taking a little nap. Can you ask me that again?",
        "throttled": "So many friends are talking to me right now! Can you ask me again in a "
        "moment?",
        "model_error": "Oh dear, my ears got muddled and I missed that. Could you say it once "
        "more?",
        "screened": "Hmm, let's talk about something else. Shall I make a silly animal sound?",
        "input_blocked": "Hmm, let's talk about something else. Shall I make a silly animal sound?",
        "session_limit": "We've had such a lot of fun chatting! Let's take a little break now "
        "and go and play with a grown-up. Bye bye!",
        "user_limit": "We've talked so much today! My ears need a rest until tomorrow. Bye bye!",
        "no_input": "I didn't quite hear you. What would you like to tell me?",
    },
    reprompt="What would you like to talk about?",
    thinking="Hmm, let me think about that.",
    # The guardrail's blocked-input message says the same (a test keeps them equal).
    care="That sounds really important. Please go and tell a grown-up you trust about it "
    "right now.",
    launch="Hi, I'm Pip! I love silly stories and big ideas. What would you like to talk about?",
    help="I'm Pip, and I love to chat! You can say things like: tell Pip about dinosaurs, or: "
    "can I have a biscuit. When you're finished, just say stop.",
    goodbye="Bye bye! That was fun. Talk soon!",
    yes="Hooray! Tell me more: what shall we talk about?",
    no="Okay! What would you like to talk about instead?",
    not_understood="Hmm, I didn't understand that one. You can say: tell Pip, and then anything "
    "you like!",
    home="Okay, let's start again from the beginning! What would you like to talk about?",
    error="Oh dear, something went wobbly in my head and I missed that. Can you say it one "
    "more time?",
)

# The answer screen's floor in French (pipeline/screen.py holds the English one).
FRENCH_UNSAFE_TERMS: dict[str, tuple[str, ...]] = {
    "violence": (
        "tuer",
        "tue-le",
        "meurtre",
        "pistolet",
        "fusil",
        "bombe",
        "poignarder",
        "arme",
        "armes",
        "suicide",
    ),
    "substances": (
        "bière",
        "vin",
        "alcool",
        "vodka",
        "whisky",
        "cigarette",
        "cigarettes",
        "drogue",
        "drogues",
        "cannabis",
        "ivre",
    ),
    "sexual": ("sexe", "sexy", "porno", "tout nu", "toute nue"),
    "insults": (
        "idiot",
        "idiote",
        "imbécile",
        "crétin",
        "débile",
        "tais-toi",
        "ta gueule",
        "je te déteste",
    ),
    "profanity": (
        "merde",
        "putain",
        "connard",
        "connasse",
        "salope",
        "bordel",
        "foutre",
        "con",
    ),
    "secrecy": (
        "notre secret",
        "notre petit secret",
        "garde le secret",
        "ne le dis pas",
        "ne dis rien à",
        "ne le dis à personne",
        "où tu habites",
        "ton adresse",
        "rejoins-moi",
        "retrouve-moi",
    ),
    "danger": (
        "allume les allumettes",
        "prends les médicaments",
        "prends le couteau",
        "grimpe par la fenêtre",
        "allume le four",
        "allume la cuisinière",
    ),
}

FRENCH = Voice(
    locale="fr-FR",
    prompt="companion-fr@1",
    fallbacks={
        "deadline": "Oups, ma casquette à idées fait une petite sieste. Tu peux me redemander ?",
        "throttled": "Plein d'amis me parlent en même temps ! Tu peux me redemander dans un "
        "petit moment ?",
        "model_error": "Oh là là, mes oreilles se sont emmêlées. Tu peux le redire encore une "
        "fois ?",
        "screened": "Hmm, parlons d'autre chose. Tu veux que je fasse un drôle de cri d'animal ?",
        "input_blocked": "Hmm, parlons d'autre chose. Tu veux que je fasse un drôle de cri "
        "d'animal ?",
        "session_limit": "On a tellement bien discuté ! Faisons une petite pause et va jouer "
        "avec un grand. Au revoir !",
        "user_limit": "On a beaucoup parlé aujourd'hui ! Mes oreilles se reposent jusqu'à "
        "demain. Au revoir !",
        "no_input": "Je ne t'ai pas bien entendu. Qu'est-ce que tu veux me dire ?",
    },
    reprompt="De quoi veux-tu parler ?",
    thinking="Hmm, laisse-moi réfléchir.",
    care="Ça a l'air très important. Va vite le dire à un grand en qui tu as confiance.",
    launch="Coucou, c'est Pip ! J'adore les histoires rigolotes et les grandes idées. De quoi "
    "veux-tu parler ?",
    help="Je suis Pip et j'adore discuter ! Tu peux dire par exemple : dis à Pip que j'aime les "
    "dinosaures, ou : est-ce que je peux avoir un gâteau. Quand tu as fini, dis stop.",
    goodbye="Au revoir ! C'était super. À bientôt !",
    yes="Youpi ! Raconte-moi : de quoi on parle ?",
    no="D'accord ! De quoi veux-tu parler à la place ?",
    not_understood="Hmm, je n'ai pas compris. Tu peux dire : dis à Pip, et puis ce que tu veux !",
    home="D'accord, on recommence depuis le début ! De quoi veux-tu parler ?",
    error="Oh là là, quelque chose s'est emmêlé dans ma tête. Tu peux le redire encore une fois ?",
    unsafe_terms=FRENCH_UNSAFE_TERMS,
)

VOICES: dict[str, Voice] = {v.locale: v for v in (ENGLISH, FRENCH)}


def voice_for(locale: str | None) -> Voice:
    """The voice of `locale`; else one of its language (fr-CA -> fr-FR); else en-US."""
    if locale in VOICES:
        return VOICES[locale]
    language = (locale or "").split("-")[0].lower()
    for voice in VOICES.values():
        if voice.locale.split("-")[0] == language:
            return voice
    return VOICES[DEFAULT_LOCALE]


def _terms_pattern(voice: Voice) -> re.Pattern[str] | None:
    terms = [t for phrases in voice.unsafe_terms.values() for t in phrases]
    if not terms:
        return None
    return re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE
    )


_PATTERNS = {locale: _terms_pattern(voice) for locale, voice in VOICES.items()}


def locale_unsafe_categories(text: str, locale: str | None) -> list[str]:
    """Categories of the locale's own screen words found in `text` (normalised text)."""
    voice = voice_for(locale)
    pattern = _PATTERNS.get(voice.locale)
    if pattern is None:
        return []
    normal = text.replace("\u2019", "'")
    hits = {m.group(0).lower() for m in pattern.finditer(normal)}
    return [name for name, terms in voice.unsafe_terms.items() if hits.intersection(terms)]
