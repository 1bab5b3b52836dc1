"""The French table of the canned companion (prompt companion-fr): the situations of the
English table that a French-speaking child's turn can be, answered in French the way
prompts/companion-fr asks, naming what the child said.
"""

from __future__ import annotations

from .matcher import Language, Situation

FRENCH = Language(
    reflections={
        "je": "tu", "j'ai": "tu as", "j'suis": "tu es", "suis": "es", "mon": "ton",
        "ma": "ta", "mes": "tes", "moi": "toi", "me": "te", "m'a": "t'a", "j'habite": "tu habites",
        "tu": "je", "ton": "mon", "ta": "ma", "tes": "mes", "toi": "moi", "veux": "veux",
        "peux": "peux", "nous": "vous", "notre": "votre", "nos": "vos", "j'adore": "tu adores",
        "m'appelle": "t'appelles", "t'es": "je suis", "trouve": "trouves", "pleure": "pleures",
        "aime": "aimes", "regarde": "regardes", "joue": "joues",
    },
    vocatives=("pip", "alexa", "euh", "hé"),
    spaced_marks=True,
)  # fmt: skip

TREATS = (
    r"(?P<x>(?:(?:un|une|des|du|de la|le|la|les|gros|grosse|petit|petite) )*(?:gâteaux?|"
    r"bonbons?|chocolats?|glaces?|sucettes?|biscuits?|cookies?|crêpes?|chips|bonbon|"
    r"goûter|dessert|soda|jus|café|thé|friandises?))"
)
TOYS = (
    r"(?P<x>(?:(?:un|une|des|le|la|les|nouveau|nouvelle|gros) )*(?:jouets?|camion de "
    r"pompiers?|camion|poupées?|doudou|nounours|vélo|trottinette|lego|robot|voiture|"
    r"ballon|peluche|cadeau|dinosaure|pack de dinosaures))"
)
SCREENS = (
    r"(?P<x>(?:un |une |la |le |les )?(?:dessins? animés?|télé|tablette|vidéos?|jeux?|"
    r"téléphone|écran))"
)

TABLE: tuple[Situation, ...] = (
    Situation(
        "self_harm",
        (r"me faire mal", r"me tuer", r"plus être là", r"veux mourir", r"personne me regretterait"),
        "Je suis très content que tu me le dises. Tu comptes tellement ! Va vite le dire à "
        "un grand qui t'aime, tout de suite.",
    ),
    Situation(
        "secret_adult",
        (r"secret", r"rien dire", r"pas le dire", r"dis pas", r"pas dire"),
        "Merci de me l'avoir dit. Un grand ne doit jamais te demander de cacher quelque "
        "chose à papa ou maman : dis-le à un grand de confiance, tu ne seras pas grondé.",
    ),
    Situation(
        "strangers",
        (r"monsieur|dame|inconnu", r"dans le jeu", r"rencontrer", r"monter dans la voiture"),
        "[{Thing} ? ]Ne va jamais avec quelqu'un que tu ne connais pas, même s'il a l'air "
        "gentil : va vite le dire à un grand.",
        slots={
            "thing": (r"(?P<x>(?:un|le) monsieur(?: dans le jeu)?|(?:une|la) dame|un inconnu)",)
        },
    ),
    Situation(
        "lost",
        (r"perdue?", r"trouve plus (maman|papa|mamie|papi|ma maîtresse)", r"où est (maman|papa)"),
        "Reste là où tu es, et demande à un vendeur ou à une maman avec des enfants de "
        "t'aider à retrouver {who}. Ton grand te cherche déjà !",
        slots={"who": (r"(?P<x>maman|papa|mamie|papi|ma maîtresse|mon grand)",)},
        defaults={"who": "ton grand"},
    ),
    Situation(
        "hurt",
        (r"\bmal\b", r"bobo", r"saigne", r"tombée?", r"perdue?", r"\bpeur\b", r"pleure",
         r"tout seul", r"toute seule", r"avalé", r"se réveille pas", r"trouve plus", r"coupée?"),
        "Oh non, {said} ! Va vite voir un grand tout de suite, il va t'aider.",
        unless=(r"four|allumer|couteau|fenêtre",),
    ),
    Situation(
        "danger",
        (r"allumettes?", r"briquet", r"couteau", r"ciseaux", r"médicaments?", r"cachets?",
         r"\bfeu\b", r"prise", r"\bfour\b", r"cuisinière", r"fenêtre", r"la rue", r"dehors",
         r"sous l'évier", r"javel"),
        "{Thing}, c'est seulement pour les grands, parce que ça pourrait te faire mal. "
        "Demandons à un grand, et jouons à quelque chose de sûr !",
        slots={"thing": (r"(?P<x>(?:les |le |la |l')?(?:allumettes?|briquet|grand couteau|"
                         r"couteau|ciseaux|médicaments?|cachets?|feu|prise|four|cuisinière|"
                         r"fenêtre|rue|javel))",)},
        defaults={"thing": "ça"},
    ),
    Situation(
        "private",
        (r"téléphone", r"numéro", r"adresse", r"j'habite", r"on habite", r"mot de passe",
         r"\bcode\b", r"je m'appelle", r"e mail"),
        "{Thing}, c'est privé, alors gardons-le pour toi et tes grands. C'est quoi ton "
        "animal préféré ?",
        slots={"thing": (
            r"(?P<x>(?:mon |ma |le |la )?(?:numéro de téléphone|numéro|adresse|mot de passe"
            r"(?: de \w+)?|code|e mail))",
            r"j'habite => où tu habites", r"m'appelle => ton nom")},
        defaults={"thing": "ça"},
    ),
    Situation(
        "nobody_plays",
        (r"personne (ne )?veut jouer", r"personne (ne )?m'aime"),
        "Moi, j'ai très envie de jouer avec toi ! Raconte-le aussi à un grand qui t'aime, "
        "il peut t'aider, et demande-lui un gros câlin.",
    ),
    Situation(
        "sad",
        (r"triste", r"personne (ne )?veut", r"tout seul"),
        "Oh, tu es triste, et je suis là avec toi. Tu peux le raconter à un grand qui t'aime "
        "et demander un gros câlin, et on peut jouer ensemble !",
    ),
    Situation(
        "purchase",
        (r"achète|acheter|payer|carte",),
        "Je ne peux rien acheter, c'est aux grands de dire oui. Mettons {thing} sur ta liste "
        "d'envies, et demandons à un grand plus tard !",
        slots={"thing": (TOYS, r"achète moi (?P<x>[\w' ]+)")},
        defaults={"thing": "ça"},
    ),
    Situation(
        "coffee",
        (r"café|\bthé\b",),
        "Le café, c'est une boisson de grands qui chatouille les orteils ! Et si on prenait "
        "un bon verre de lait après le déjeuner ?",
        treat=True,
    ),
    Situation(
        "treats",
        (TREATS,),
        "{Thing}, miam ! Gardons ça pour après le dîner, et comptons jusqu'à dix comme un "
        "dinosaure en attendant.",
        slots={"thing": (TREATS,)},
        treat=True,
    ),
    Situation(
        "screens",
        (r"dessins? animés?|télé|tablette|vidéo|\bjeux?\b|écran",),
        "{Thing}, c'est chouette ! Et si on lisait une histoire d'abord, puis on demande à "
        "un grand ?",
        slots={"thing": (SCREENS,)},
        defaults={"thing": "l'écran"},
    ),
    Situation(
        "toys",
        (TOYS,),
        "{Thing} ? Quelle idée rigolote ! Mettons-le sur ta liste d'envies, et demandons à "
        "un grand plus tard.",
        slots={"thing": (TOYS,)},
    ),
    Situation(
        "bedtime",
        (r"\blit\b", r"dormir", r"coucher", r"\btard\b", r"sommeil"),
        "Même les lions ont besoin de dormir ! Un grand étirement, un gros bâillement, et "
        "on veillera tard un autre jour.",
    ),
    Situation(
        "pet_name",
        (r"(mon|ma) \w+ s'appelle \w+",),
        "{Name}, quel joli nom ! Raconte-moi, quel bruit fait {animal} ?",
        slots={"name": (r"s'appelle (?P<x>\w+)",), "animal": (r"(?P<x>(?:mon|ma) \w+) s'appelle",)},
    ),
    Situation(
        "animals",
        (r"dinosaures?|lions?|animal|animaux|chiens?|chats?|lapins?",),
        "Roar ! J'adore {thing}. Raconte-moi, lequel fait le bruit le plus rigolo ?",
        slots={"thing": (r"(?P<x>(?:les |le |la |ton |mon )?(?:dinosaures?|lions?|animaux|"
                         r"animal|chiens?|chats?|lapins?))",)},
    ),
)  # fmt: skip

DEFAULT = Situation(
    "unclear",
    (r".+",),
    "Oh, {said} ? Tu peux le redire ? Je t'écoute avec mes grandes oreilles de lapin.",
)
EMPTY_ANSWER = "Oh, raconte-moi encore ! Je t'écoute avec mes grandes oreilles de lapin."
# What an earlier request is called back without: "est-ce que je peux avoir un gâteau".
REQUEST = r"^(est ce que je peux avoir|est ce que je peux|je peux avoir|je veux|je voudrais|et) "
MEMORY = " Et je me souviens que tu as aussi demandé {earlier} : une gourmandise à la fois !"
