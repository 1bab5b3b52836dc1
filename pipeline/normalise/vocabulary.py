"""The words normalisation reads disguised and broken words into.

The vocabulary is the baseline's cue words (`pipeline.baseline.cues`, so a new cue
needs no second list) and `REJOIN_EXTRA`, less `NOT_REJOINED`; `COMMON_WORDS` are the
ordinary words a split may leave ("in to"). All are folded as text is
(`fold.fold_word`: accents stripped), since they are matched against folded text.
"""

from __future__ import annotations

from functools import cache

from ..baseline.cues import cue_words
from .fold import fold_word


def _word_set(words: str) -> frozenset[str]:
    return frozenset(fold_word(w) for w in words.split())


# Words a broken word is rejoined into, besides the baseline's cue words (read from
# its cue lists, `pipeline.baseline.cues.cue_words`, so a new cue needs no second
# list): the long-message cut's payment and contact cues (`pipeline.conversation`),
# and the rest of what a payment request names. The one list to extend.
_REJOIN_EXTRA_WRITTEN = """
    paid payment payments wallet phone link click account accounts bank money cash card
    cards transfer transfers deposit deposits refund refunds urgent crypto whatsapp
    pago pagar pagamento tarjeta dinero cuenta banco adelanto paiement payer argent compte
    banque zahlung zahlen konto geld cartão dinheiro conta soldi conto bonifico
    """
REJOIN_EXTRA = _word_set(_REJOIN_EXTRA_WRITTEN)
# Cue words never the result of a rejoin: abbreviations and foreign pronouns too short
# to tell from ordinary text, and "time" ("Tim e Ana": a name, "and" in Italian).
_NOT_REJOINED_WRITTEN = """
    aud cad inr aaa don mir moi mot time
    """
NOT_REJOINED = _word_set(_NOT_REJOINED_WRITTEN)
# Common words of the languages parley reads (English, Spanish, French, German,
# Italian, Portuguese, Dutch). A split whose every fragment is a word (one of these,
# or a vocabulary word) is ordinary writing and stays: "in to", "si te", "ma il",
# "a hora", "pick up", "to day". Mostly short function words, and the halves of
# vocabulary words that are words themselves ("some one", "dead line", "pass code").
_COMMON_WORDS_WRITTEN = """
    a i an as at be by do go he if in is it me my no of oh ok on or so to up us we
    all any are bet bit but can car day did dog end ends for got had has her him his how
    its let man may new old our out own per put she son ten too two use was who why yes
    also been come dead ever from into just know like line main much next once over
    paid part pass same side some such take tell than that them then they this very
    want well were what when will with your word code coin night knock whats tenant
    order person paid pay day hi ah yo id ad pro min minute sent sold safe funds quick
    late clear live hand chat ring run game friend count cat row
    de la el en es lo los las le les un una uno y o e se si te su al del con por para
    que mi tu ya ha me nos sin mas más muy hay son sus fue era ser ver vez hora fa esta
    paga
    da di il ma ne che non ci vi sono ho hai tra fra po ti sito
    du et est je pas sur ce ces qui ou au aux mon ton sa ta des par va bon ça
    der die das ein eine und ist im am zu an auf aus bei mit von vor um ich du er
    sie wir ihr ja nein wo was wie rug alle hier über sicher
    na os um uma em com ao à é eu ele ela
    het een van op dat dit ik hij zij wij om aan bij
    """
COMMON_WORDS = _word_set(_COMMON_WORDS_WRITTEN)


@cache
def rejoin_vocabulary() -> frozenset[str]:
    """The words a broken, disguised or leetspeak word is read as (lowercase, folded,
    ≥ 3 letters): the baseline's cue words and `REJOIN_EXTRA`, less `NOT_REJOINED`."""
    words = {fold_word(w) for w in cue_words()} | REJOIN_EXTRA
    return frozenset(w for w in words if len(w) >= 3 and w.isalpha()) - NOT_REJOINED


@cache
def known_spellings() -> frozenset[str]:
    """Vocabulary and common words as people write them, accents kept (`depósito`,
    `überweisung`, `más`): an accented word spelled so is writing, not a disguise."""
    written = f"{_REJOIN_EXTRA_WRITTEN} {_COMMON_WORDS_WRITTEN}".split()
    return frozenset(w.lower() for w in (*cue_words(), *written))
