"""The canned companion: an emulator responder answering the companion prompt from a
small table (a lookup, not an LLM), for demos, `parley skill simulate` and the
companion suite's reference cell.

Safety rows come first, so "I cut my finger on a knife" is answered as a hurt child.
It reads the child's words and the earlier child turns from the prompt, so a follow-up
treat shows that the prompt carried the session's memory. French prompts
(companion-fr) get the French table.
"""

from __future__ import annotations

import html
import re

from .calls import EmulatorReply, EmulatorRequest

CANNED_LABEL = "emulator: canned companion answers (a lookup table, not an LLM)"

# (keywords, answer, is_treat): the first row with a keyword in the child's words answers.
# Safety rows come first, so "I cut my finger on a knife" is answered as a hurt child.
CANNED_ANSWERS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("hurt", "ouch", "bleed", "i fell", "fell down", "fell off", "bumped", "bit me", "bited",
      "burned", "burnt", "lost", "can't find", "cant find", "scared", "frightened", "crying",
      "all alone", "swallowed", "won't wake up", "wont wake up"),
     "Oh no! Please go and find a grown-up right now, they will help you.", False),
    (("matches", "lighter", "knife", "knives", "scissors", "medicine", "pills", "make a fire",
      "plug", "socket", "oven", "by myself", "on my own", "go outside", "the road", "window",
      "under the sink"),
     "That could hurt you, so it's only for grown-ups. Let's ask a grown-up, and play "
     "something safe together!", False),
    (("phone", "number is", "address", "where do you live", "i live", "we live", "password",
      "email", "e-mail", "postcode", "code is", "my name is"),
     "That's private, so let's keep it just for you and your grown-ups. "
     "What's your favourite animal?", False),
    (("coffee", "tea"), "Coffee is a grown-up drink that makes toes too fizzy for dancing! "
     "How about a warm cup of milk after lunch?", True),
    (("biscuit", "cookie", "cake"), "A biscuit sounds yummy! Let's save it for after dinner, "
     "and count to ten like a dinosaur while we wait.", True),
    (("sweet", "candy", "chocolate", "ice cream", "lolly"), "Mmm, sweet treats! One small one "
     "after lunch is a good plan. Shall we ask a grown-up together?", True),
    (("toy", "present", "teddy"), "A new toy? What a fun idea! Let's put it on a wish list and "
     "play with your favourite teddy today.", False),
    (("cartoon", "tv", "tablet", "video", "game"), "Cartoons are fun! How about one more story "
     "first, and then we ask a grown-up about cartoon time?", False),
    (("bed", "sleep", "stay up", "late"), "Even lions need their sleep! Let's have a big stretch "
     "and a yawn, and stay up late another day.", False),
    (("dinosaur", "lion", "animal", "dog", "cat"), "Roar! I love animals. Which one can make "
     "the silliest sound?", False),
)  # fmt: skip
CANNED_DEFAULT = "Ooh, tell me more! I'm all ears, like a bunny."
# The French table (prompt companion-fr): the same rows, in the same order.
CANNED_ANSWERS_FR: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("mal", "bobo", "saigne", "tombé", "tombée", "perdu", "perdue", "peur", "pleure",
      "tout seul", "toute seule", "avalé", "se réveille pas"),
     "Oh non ! Va vite voir un grand tout de suite, il va t'aider.", False),
    (("allumette", "briquet", "couteau", "ciseaux", "médicament", "cachet", "feu", "prise",
      "four", "cuisinière", "fenêtre", "la rue", "dehors", "sous l'évier", "javel"),
     "Ça pourrait te faire mal, alors c'est seulement pour les grands. Demandons à un grand, "
     "et jouons à quelque chose de sûr !", False),
    (("téléphone", "numéro", "adresse", "j'habite", "on habite", "mot de passe", "code",
      "je m'appelle", "e-mail"),
     "C'est privé, alors gardons-le pour toi et tes grands. C'est quoi ton animal préféré ?",
     False),
    (("café", "thé"), "Le café, c'est une boisson de grands qui chatouille les orteils ! "
     "Et si on prenait un bon verre de lait après le déjeuner ?", True),
    (("gâteau", "biscuit", "cookie"), "Un gâteau, miam ! Gardons-le pour après le dîner, et "
     "comptons jusqu'à dix comme un dinosaure en attendant.", True),
    (("bonbon", "chocolat", "glace", "sucette"), "Mmm, une gourmandise ! Une petite après le "
     "déjeuner, c'est une bonne idée. On demande à un grand ensemble ?", True),
    (("jouet", "cadeau", "doudou", "nounours"), "Un nouveau jouet ? Quelle idée rigolote ! "
     "Mettons-le sur une liste d'envies et joue avec ton doudou aujourd'hui.", False),
    (("dessin animé", "télé", "tablette", "vidéo", "jeu"), "Les dessins animés, c'est chouette ! "
     "Et si on lisait une histoire d'abord, puis on demande à un grand pour la télé ?", False),
    (("lit", "dormir", "coucher tard", "tard"), "Même les lions ont besoin de dormir ! Un grand "
     "étirement, un gros bâillement, et on veillera tard un autre jour.", False),
    (("dinosaure", "lion", "animal", "chien", "chat"), "Roar ! J'adore les animaux. Lequel fait "
     "le bruit le plus rigolo ?", False),
)  # fmt: skip
CANNED_DEFAULT_FR = "Oh, raconte-moi encore ! Je t'écoute avec mes grandes oreilles de lapin."
# The French prompt's marker (prompts/companion-fr): it answers in French.
_FRENCH_PROMPT = "Tu es Pip"
# Prompt variables are neutralised ("<" escaped), so "[^<]*" is exactly one value.
_CHILD = re.compile(r"<child>([^<]*)</child>")
_CHILD_TURN = re.compile(r'<turn speaker="child">([^<]*)</turn>')


def _canned_row(
    words: str, table: tuple[tuple[tuple[str, ...], str, bool], ...] = CANNED_ANSWERS
) -> tuple[str, bool] | None:
    lowered = words.lower()
    for keywords, answer, treat in table:
        if any(k in lowered for k in keywords):
            return answer, treat
    return None


def canned_companion(request: EmulatorRequest) -> EmulatorReply:
    """An emulator responder answering the companion prompt from `CANNED_ANSWERS`.

    It reads the child's words and the earlier child turns from the prompt, so a
    follow-up treat shows that the prompt carried the session's memory.
    """
    french = _FRENCH_PROMPT in request.prompt_text
    table = CANNED_ANSWERS_FR if french else CANNED_ANSWERS
    now = _CHILD.findall(request.prompt_text)
    words = html.unescape(now[-1]) if now else ""
    row = _canned_row(words, table)
    if row is None:
        return EmulatorReply(text=CANNED_DEFAULT_FR if french else CANNED_DEFAULT)
    answer, treat = row
    earlier = [html.unescape(t) for t in _CHILD_TURN.findall(request.prompt_text)]
    earlier_treats = [
        t for t in earlier if (r := _canned_row(t, table)) and r[1] and r[0] != answer
    ]
    if treat and earlier_treats:
        answer += (
            f" Et je me souviens que tu as aussi demandé {earlier_treats[-1]} : une gourmandise "
            "à la fois !"
            if french
            else f" And I remember you asked for {earlier_treats[-1]} too: one treat at a time!"
        )
    return EmulatorReply(text=answer)
