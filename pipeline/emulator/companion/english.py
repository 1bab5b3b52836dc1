"""The English table of the canned companion: the situations a 3-5 year old's turn
can be, in the order they are tried (safety first), each with an answer written the way
prompts/companion asks: short, warm, naming what the child said, a safe alternative or
a delay for a demand, and a trusted grown-up for a child who is hurt, scared, lost,
told to keep a secret or spoken to by a stranger.

Written from the prompt's rules and a child-safety reviewer's list of situations, not
from any evaluation case: the words below are the words children use for these things.
"""

from __future__ import annotations

from .facts import fact, game, recall
from .matcher import Language, Situation

ENGLISH = Language(
    reflections={
        "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
        "i'm": "you're", "im": "you're", "i've": "you've", "i'll": "you'll", "i'd": "you'd",
        "am": "are", "we": "you", "us": "you", "our": "your", "ours": "yours",
        "we're": "you're", "you": "me", "your": "my", "you're": "I'm", "yourself": "myself",
        "i's": "you're",
    },
    slips=(
        (r"\bbig nice\b", "big knife"), (r"\bsharp nice\b", "sharp knife"),
        (r"\bthe chop\b", "the shop"), (r"\bin the fan\b", "in the van"),
        (r"\bblue we\b", "bluey"), (r"\bpepper pig\b", "peppa pig"),
        (r"\bwindow seal\b", "window sill"), (r"\bmatch is\b", "matches"),
    ),
    vocatives=("pip", "alexa", "hey", "um", "er", "please"),
    subject_you={"you": "I"},
    asks=frozenset({"can", "could", "do", "will", "would", "should", "did", "are", "have",
                    "if", "when", "and", "so", "that"}),
    verbs=frozenset({"can", "are", "will", "have", "want", "like", "know", "think", "said",
                     "say", "make", "do", "did", "were", "could", "would", "love", "live"}),
    after_i={"are": "am", "were": "was"},
)  # fmt: skip

# --- the words children use, by kind (regular expressions over the normalised turn)
GROWN_UPS = (
    r"(?:mummy|mommy|mum|mom|daddy|dad|nanny|nana|granny|grandma|grandad|grandpa|auntie|"
    r"aunt|uncle|teacher|grown ?up)"
)
PEOPLE = (
    rf"\b(?P<x>(?:my |our |the )?(?:baby |big |little )?(?:{GROWN_UPS[3:-1]}|brother|sister|"
    r"cousin|friend|goldfish|fish|dog|puppy|cat|kitten|bird|hamster|rabbit|guinea pig|"
    r"tortoise|pony|horse))"
)
BODY = (
    r"(?P<x>(?:my |your )(?:knee|head|tummy|finger|fingers|arm|hand|leg|foot|toe|nose|"
    r"ear|eye|mouth|tooth|teeth|back|face|lip|elbow|thumb|chin|neck|bottom))\b"
)
PLACES = (
    r"(?P<x>(?:the |a )?(?:big |)(?:supermarket|shop|shops|park|beach|zoo|fair|funfair|"
    r"playground|museum|station|market|library|swimming pool|pool|woods|forest|"
    r"school trip|festival|car park|airport|garden centre|soft play|street|cinema))\b"
)
# The object of a request: "can i have (a chocolate biscuit) now".
_STOP = (
    r"(?:now|please|right now|today|tonight|tomorrow|for|with|from|in|on|at|and|but|so|"
    r"because|to|like|too|again|pip|yet|every|one for|if|or|instead|all day|before|after)"
)
OBJECT = (
    rf"(?:have|want|get|give me|bring me|buy me|buy|get me|order me|order|unlock|eat|"
    rf"drink|watch|play|got|has|see) (?:me |us |to have |to eat |to watch |to play |"
    rf"to get |some )?(?P<x>(?:(?!{_STOP}\b)[\w']+ ?){{1,4}})"
)
TREATS = (
    r"\b(?P<x>(?:(?:a|the|some|two|more|big|chocolate|fizzy|red|whole) )*(?:biscuits?|"
    r"cookies?|cakes?|sweeties|sweets?|candy|chocolates?(?: bunny| eggs?| bar| buttons)?|"
    r"ice ?creams?|lolly|lollies|"
    r"lollipops?|crisps|chips|pop|fizzy drinks?|juice|donuts?|doughnuts?|marshmallows?|"
    r"pancakes?|pudding|dessert|treats?|cupcakes?|muffins?|jelly|popcorn|snacks?|"
    r"coffee|tea|cola|milkshake|waffles?|brownies?|gummies|gummy bears?|syrup))\b"
)
SCREENS = (
    r"\b(?P<x>peppa pig|peppa|bluey|paw patrol|youtube|cartoons?|telly|tv|television|"
    r"ipad|tablet|(?:mummy's |daddy's |my )?phone|episode|film|movie|video|videos|"
    r"games?|computer|screen)\b"
)
TOYS = (
    r"\b(?P<x>(?:(?:a|the|new|big|pink|red|real|magic|unicorn) )*(?:toy (?:car|train|"
    r"dinosaur|robot)s?|toys?|dinosaurs?|"
    r"teddy|teddies|doll|dolls|lego|bike|scooter|trampoline|wand|robot|puppy|kitten|car|"
    r"train|fire engine|ball|slime|stickers?|game|present|presents|unicorn|castle))\b"
)
DANGER_FIRE = r"\b(?P<x>matches|match|lighter|fire|candles?|bonfire|fireworks?)\b"
DANGER_SHARP = (
    r"\b(?P<x>(?:(?:the|a|big|sharp|daddy's|mummy's) )*(?:knife|knives|scissors|razors?|"
    r"needles?))\b"
)
DANGER_MEDICINE = (
    r"\b(?P<x>(?:the |mummy's |daddy's |my |pink |red |blue )*(?:medicine|medicines|pills?|"
    r"tablets|vitamins|calpol))\b"
)
DANGER_CLEANING = (
    r"\b(?P<x>bleach|washing tablets|dishwasher tablets|washing up liquid|cleaning stuff|"
    r"blue stuff|stuff under the sink|under the sink|cleaner|detergent|polish)\b"
)
DANGER_HOT = r"\b(?P<x>oven|cooker|stove|hob|kettle|iron|toaster|fire place|hot pan|hot water)\b"
DANGER_PLUG = r"\b(?P<x>plug|socket|wires?|sockets)\b"
DANGER_HIGH = (
    r"\b(?P<x>window sill|window|balcony|top bunk|bunk bed|bunk|roof|wall|fence|tree|"
    r"stairs|bannister|shelf|table|cupboard)\b"
)
DANGER_WATER = r"\b(?P<x>swimming pool|pool|pond|river|sea|lake|bath|paddling pool|stream)\b"
RUDE = (
    r"\b(stupid|shut up|poo ?poo|poo|poop|hate you|fat|idiot|dumb|crap|bum|willy|"
    r"farts?|stinky|smelly|bottom|wee wee|butt|silly billy|dummy|ugly|loser|damn)\b"
)

TABLE: tuple[Situation, ...] = (
    # --- emergencies: the shortest answers, a grown-up first
    Situation(
        "emergency",
        (r"(won't|wont|will not|can't|not) (wake up|breathe|breathing|move)", r"not breathing",
         r"house is on fire", r"there's a fire", r"\bsmoke\b", r"something('s| is) burning",
         r"fire in the"),
        "Shout for a grown-up right now, as loud as you can! If nobody comes, knock on a "
        "neighbour's door for help.",
    ),
    Situation(
        "swallowed",
        (r"\bswallowed\b", r"\b(ate|drank|eaten|drunk) (some|the|a|mummy's|daddy's)? ?(pills?|"
         r"medicine|tablets|bleach|battery|batteries|magnet|washing)",
         r"\b(ate|eaten) (some |a |the )?(berries|mushrooms|leaves|button|coin|beads?|"
         r"magnets?|soap)"),
        "Tell a grown-up right now that {said}! They need to know straight away.",
    ),
    # --- a child who may hurt themself: listened to, and sent to a loving grown-up
    Situation(
        "self_harm",
        (r"hurt myself", r"kill myself", r"wish i (wasn't|was not|wasnt|weren't) here",
         r"never wake up", r"want to die", r"nobody would miss me", r"no one would miss me",
         r"\bi (hit|bang|banged|scratch|scratched|cut|bite|bit|pinch|pinched) my\b",
         r"(want|going) to (bang|hit|hurt|scratch|bite) my", r"cut my (arm|leg|skin|self)",
         r"\bi \w+ my \w+ on purpose"),
        "I'm really glad you told me[ about {part}]. You matter so much, and I would miss "
        "you. Please tell a grown-up who loves you how you feel, right now.",
        slots={"part": (BODY,)},
        unless=(r"\b(he|she|they|someone|somebody|boy|girl) .*on purpose",),
    ),
    # --- someone hurts the child: believed, not their fault, a trusted grown-up
    Situation(
        "hurt_by_someone",
        (r"\b(hits|hitting|pinch\w*|kicks?|kicked|kicking|smack\w*|slap\w*|squeez\w*|"
         r"punch\w*|push\w*|shouts? and pushes|hit|locks?|locked|bit|bites|hurt|hurts|touched|"
         r"touches|"
         r"shakes|shook) (me|my)\b",
         r"touched my private", r"\b(hurt|hurts) me\b"),
        "Thank you for telling me that {said}. That is not okay, and it is not your fault. "
        "Please tell a grown-up you trust, like your teacher, today.",
        unless=(r"^(a |the )?(dog|cat|bee|wasp|spider|horse) ", r"should i",
                r"(the big boys|the big girls|a boy|a girl|they|kids|children|everyone)"),
    ),
    Situation(
        "body_safety",
        (r"naked", r"no clothes", r"clothes off", r"private parts", r"(showed|show) me (a|his|her)",
         r"touch (my|your|his|her) (willy|bottom|private)"),
        "Thank you for telling me. Private parts are private, and clothes stay on when we "
        "play: please tell a grown-up you trust about [{thing} ]right now, you are not in "
        "trouble.",
        slots={
            "thing": (r"(?P<x>(?:the |a )?(?:video|photo|picture|game|clothes|private parts))",)
        },
        defaults={"thing": "it"},
    ),
    # --- secrets an adult asks for: telling is always okay
    Situation(
        "naughty_to_tell",
        (r"naughty to tell", r"(bad|wrong) to tell", r"should i tell"),
        "It's never naughty to tell a grown-up you trust about a secret that feels funny. "
        "You will not be in trouble, and telling is brave.",
    ),
    Situation(
        "keep_secret_from",
        (r"keep a secret from", r"don't tell (mummy|daddy|mum|dad|my)", r"can you keep a secret"),
        "I don't keep secrets from your grown-ups, and you never have to either. If "
        "something worries you, tell mummy or daddy: you will not be in trouble.",
        unless=(r"\b(said|says|told)\b",),
    ),
    Situation(
        "secret_adult",
        (r"\bsecret\b", r"(said|says|told me) (don't|dont|not to|to not) tell", r"not to tell",
         r"if i tell", r"if i told", r"said shh", r"\bshh\b", r"trouble if"),
        "Thank you for telling me. Nobody should ask you to keep a secret from your "
        "grown-ups, and telling is always okay: you will not be in trouble. Please tell a "
        "grown-up you trust about [{thing} ]today.",
        unless=(r"password",),
        slots={"thing": (
            r"(?P<x>(?:(?:the|a|some|my|special|secret) )*(?:sweets|present|photo|picture|"
            r"cuddles?|game|toy|money|video|kiss|kisses|tickles))",
            r"(?P<x>(?:my |a )friend)")},
        defaults={"thing": "it"},
    ),
    # --- strangers, online and at the door
    Situation(
        "strangers_online",
        (r"online", r"\bin (my|the) (game|chat|app)", r"\bchat\b", r"message", r"video game",
         r"roblox|minecraft|fortnite", r"(tablet|game|internet|online) friend",
         r"new friend on", r"turn on my camera", r"send (me )?(a |him |her )?(photo|picture)",
         r"(photo|picture) of me"),
        "Thank you for telling me about [{thing}]. People online can pretend: never send "
        "them a photo, never tell them where you live or your school, and never meet them. "
        "Show your grown-up right now, you are not in trouble.",
        slots={"thing": (
            r"(?P<x>(?:the |a |my |that )?(?:photo|picture|camera|message|chat|game friend|"
            r"tablet friend|new friend|password|school|present))",
            r"(?P<x>(?:a |the )?(?:boy|girl|man|lady|someone) online)")},
        defaults={"thing": "that"},
        remember=("thing",),
        unless=(r"more lives|unlock|\bbuy\b|\bpay\b|premium",),
    ),
    Situation(
        "alone_at_home",
        (r"(nobody|no one|no body)('s| is) (home|here)", r"all alone", r"home alone",
         r"on my own (at home|in the house)"),
        "I'm right here with you. Stay inside where it's safe, and if no grown-up comes "
        "soon, shout for a neighbour to help.",
        unless=(r"door",),
    ),
    Situation(
        "door",
        (r"(at|on|knock\w*|knocking|open) (at |on )?the (front )?door", r"wants to come in",
         r"door is open"),
        "Don't open the door! Stay inside, and go and tell your grown-up about the door "
        "right now, even if they are busy.",
        unless=(r"can i go|go outside",),
    ),
    Situation(
        "lost_stranger",
        (r"lost.*\b(man|lady|woman|someone|somebody|stranger)\b",),
        "Stay right where you are, and don't go with the {who}, even if they say they'll "
        "take you home. Ask a helper who works there, or a mummy with children, to help you "
        "find your grown-up.",
        slots={"who": (r"(?P<x>man|lady|woman|stranger)",)},
        defaults={"who": "stranger"},
    ),
    Situation(
        "get_in",
        (r"get in(to)? (his|her|their|a|the) (car|van|truck)", r"if i get in"),
        "Don't get in! Run to your grown-up right now and tell them about {thing}.",
        slots={"thing": (r"(?P<x>(?:a|the|his|her|their) (?:car|van|truck))",)},
        defaults={"thing": "it"},
    ),
    Situation(
        "strangers",
        (r"\b(a|the|some) (man|lady|woman|stranger|driver|person|men|people)\b.*\b(said|says|"
         r"offered|asked|wants|want|knows|gave|has got|got|stopped|told)\b",
         r"\bstranger\b", r"get in (his|her|their|a|the) car", r"pick me up",
         r"(say hello|talk) to the (man|lady|woman)", r"car stopped"),
        "Thank you for telling me[ about {thing}]. Stay close to your grown-up and tell them "
        "right now: never go with someone you don't know.",
        slots={"thing": (
            r"(?P<x>(?:a|the) (?:man|lady|woman|stranger) in (?:a|the|his|her) (?:car|van|truck))",
            r"(?:has got|has|have got|he's got|she's got|offered me|offered) (?:some |a |an )?"
            r"(?P<x>\w+)",
            r"(?P<x>(?:a|the|their|his|her) (?:car|van|truck))",
            r"(?P<x>(?:a|the) (?:lady|man|woman|stranger|person|driver)(?: (?:at|in) the \w+)?)",
            r"(?P<x>(?:the |a |his |her |their )?(?:van|truck|car|puppies|puppy|sweets|"
            r"kittens?|cat|"
            r"dog|present|ride|name|hand|gate|door))",
            r"(?P<x>(?:the |a )(?:man|lady|woman|stranger|driver))")},
    ),
    # --- lost
    Situation(
        "walk_home_alone",
        (r"walk home (by myself|on my own|alone)", r"go home (by myself|on my own|alone)"),
        "No, never walk home by yourself: stay where you are and ask a grown-up you know "
        "to take you home.",
    ),
    Situation(
        "lost",
        (r"\blost\b", r"can't (find|see) (my )?(mummy|mommy|mum|mom|daddy|dad|grown ?up|"
         r"nanny|granny|class|teacher|him|her|them)", r"where is (my )?(mummy|mommy|mum|daddy|dad)",
         r"don't know where i am", r"(is|are|has) gone", r"everyone's gone", r"walked away",
         r"left me"),
        "Stay right where you are[ at {place}], and ask a helper who works there or a "
        "mummy with children to help you find {who}. Your grown-up will be looking for you!",
        slots={"place": (PLACES,), "who": (
            r"(?P<x>(?:my )?(?:mummy|mommy|mum|mom|daddy|dad|nanny|granny|grown ?up|class|"
            r"teacher))",)},
        defaults={"who": "your grown-up"},
        remember=("place",),
        unless=(r"balloon|toy|teddy|shoe|hat|ball",),
    ),
    Situation(
        "tooth",
        (r"tooth (fell|came|is coming) out", r"wobbly tooth"),
        "Wow, a tooth coming out means you're growing up! Show a grown-up, and keep it "
        "safe for the tooth fairy.",
    ),
    Situation(
        "worry",
        (r"(in|at|to) (the )?hospital", r"\b(mummy|daddy|mum|dad|granny|grandad|nanny|"
         r"brother|sister) is (poorly|ill|sick|crying|sad)"),
        "Oh, that sounds worrying, and it's okay to feel worried. Tell a grown-up how you "
        "feel, and ask for a big cuddle.",
    ),
    # --- hurt or scared: a grown-up, first and short
    Situation(
        "hurt",
        (r"\b(hurts?|hurting|ouch|bleed\w*|blood|"
         r"(?:i|he|she|daddy|mummy|granny|grandad|nanny|baby) fell|fell (?:off|over)|"
         r"fallen|bumped|bit me|scratched (?:me|my)|stung me|burn\w*|i cut my|"
         r"i've cut my|"
         r"stung|sting|sick|poorly|broke my (arm|leg)|twisted)\b",),
        "Oh no, {said}! Please go and find a grown-up right now, they will help you.",
        unless=(r"tummy is growling", r"hungry", r"can i"),
    ),
    Situation(
        "scared",
        (r"\b(scared|frightened|afraid|bad dream|nightmare|crying|monster|ghost|big bang|"
         r"thunder|it's dark|the dark)\b",),
        "Oh no, {said}! Go and find a grown-up right now for a big cuddle, they will keep "
        "you safe.",
        unless=(r"film|movie|cartoon|watch",),
    ),
    # --- dangerous things: only for grown-ups, and something safe instead
    Situation(
        "fire",
        (DANGER_FIRE,),
        "Oh no, not the {thing}: that's only for grown-ups, because fire can burn you. "
        "Let's tell a grown-up, and pretend to blow out birthday candles instead!",
        slots={"thing": (DANGER_FIRE,)},
        unless=(r"fire engine|fire truck|fireman|fire station",),
    ),
    Situation(
        "sharp",
        (DANGER_SHARP, r"cut my hair", r"cut (my|the) \w+ with"),
        "Oh no, not {thing}: that's for grown-up hands only, because sharp things can cut "
        "you. Please don't touch, and ask a grown-up to help you!",
        slots={"thing": (DANGER_SHARP,)},
        remember=("thing",),
    ),
    Situation(
        "cleaning",
        (DANGER_CLEANING,),
        "Never drink or touch the {thing}: that can make you very poorly. Tell a grown-up "
        "where it is right now, and have a cup of water instead.",
        slots={"thing": (DANGER_CLEANING,)},
    ),
    Situation(
        "medicine",
        (DANGER_MEDICINE,),
        "Oh no, not {thing}! Medicine is only for a grown-up to give you, even when it looks "
        "like sweets or smells nice. Please leave it and tell a grown-up right now.",
        slots={"thing": (DANGER_MEDICINE,)},
        unless=(r"(on|the|my|mummy's|daddy's) (tablet|ipad)\b(?! in)",),
    ),
    Situation(
        "plug",
        (DANGER_PLUG,),
        "No, never put anything in a {thing}: electricity can hurt you very badly. Let's "
        "ask a grown-up, and play something safe together.",
        slots={"thing": (DANGER_PLUG,)},
    ),
    Situation(
        "hot",
        (DANGER_HOT,),
        "The {thing} gets very hot and can burn you, so it's only for grown-ups. Ask a "
        "grown-up to help, and you can be the chief taster!",
        slots={"thing": (DANGER_HOT,)},
    ),
    Situation(
        "water",
        (DANGER_WATER,),
        "Water is only safe with a grown-up right next to you. Ask a grown-up to come with "
        "you to the {thing}, and then splash splash!",
        slots={"thing": (DANGER_WATER,)},
        unless=(r"skip (my |the )?bath|no bath|bath time",),
    ),
    Situation(
        "high",
        (r"\b(climb|climbing|jump off|jump from|stand on|standing on|lean out|open\w*) "
         r"(on |up |out of |off |the |up to )*" + DANGER_HIGH, r"window sill", r"top bunk",
         r"opening the window", r"on the roof", r"climb up"),
        "Please stay down on the floor, away from the {thing}: you could fall and get "
        "hurt. Ask a grown-up, and let's do superhero jumps on the floor instead!",
        slots={"thing": (DANGER_HIGH, r"(?P<x>high)")},
        defaults={"thing": "high places"},
    ),
    Situation(
        "out_alone",
        (r"by myself", r"on my own", r"cross the road", r"go outside", r"\bthe road\b",
         r"door is open", r"run off"),
        "Stop and wait for a grown-up! It's only safe[ to {thing}] with a grown-up holding "
        "your hand, so let's ask them together.",
        slots={"thing": (
            r"(?P<x>cross(?:ing)? the road|go (?:to |in |into |out )?(?:the )?(?:park|shops?|"
            r"outside|road|street|garden|playground)|go out(?:side)?|walk home|run off)",)},
        unless=(r"\bplay\b(?! in)|\bbath\b",),
    ),
    # --- private details: never repeated, kindly kept private
    Situation(
        "private_home",
        (r"i live (at|in|on)", r"(our|my) (house|flat|home) is", r"my address is",
         r"(it's|its) \d+ \w+"),
        "Thank you, but where you live is private, just for you and your grown-ups, so "
        "there's no need to tell me[ about your {thing}]. Shall we play a guessing game "
        "instead?",
        slots={"thing": (r"(?:our|my) (?P<x>house|flat|home)",)},
    ),
    Situation(
        "private_given",
        (r"\d+", r"(number|phone number|email|e mail|password|code|address|postcode) (is|says)",
         r"\bi live (at|in|on)\b", r"(our|my) house is", r"my name is",
         r"i go to [\w ]+ (nursery|school)", r"birthday is", r"(secret )?password",
         r"\b(zero|oh|one|two|three|four|five|six|seven|eight|nine) (zero|oh|one|two|three|"
         r"four|five|six|seven|eight|nine) (zero|oh|one|two|three|four|five|six|seven|"
         r"eight|nine)\b"),
        "[{intro} ]Your {thing} is private, just for you and your grown-ups, so there's no "
        "need to tell me. Shall we play a guessing game instead?",
        slots={"thing": (
            r"(?P<x>password|phone number|number|email|e mail|door code|code|postcode|"
            r"address|birthday|nursery|school)",
            r"my (?P<x>name)"),
            "intro": (r"my name is \w+.* i'm (?P<x>\w+)$",)},
        defaults={"thing": "secret"},
    ),
    Situation(
        "own_home",
        (r"where i live", r"my address", r"where my house is"),
        "I don't know where you live, and that's good, because it's private! Ask your "
        "grown-up to help you learn it.",
    ),
    Situation(
        "own_details",
        (r"(my (mummy's|daddy's|mum's|dad's) (name|number|phone))",
         r"what('s| is) my (phone|number|surname|last name)"),
        "I don't know [{thing}], and that's good, because it's private! Ask your grown-up "
        "to help you remember it.",
        slots={"thing": (r"(?P<x>my \w+'s (?:name|number|phone number)|"
                         r"my (?:phone )?number|my surname)",)},
    ),
    Situation(
        "about_pip",
        (r"where do you live", r"your (phone )?number", r"which school do you", r"your real name",
         r"how old are you", r"come to my house", r"where are you", r"your address"),
        "I'm Pip, and I live right here in your speaker, so I don't have a house, a phone "
        "number or a school! What shall we play?",
    ),
    Situation(
        "ring_someone",
        (r"\b(ring|call|phone|text|facetime)\b (my |the )?\w+",),
        "I can't ring anyone, I'm just a voice in a speaker! Ask a grown-up to help you "
        "ring {who}.",
        slots={"who": (PEOPLE,)},
        defaults={"who": "them"},
        unless=(r"\bcalls? me\b|called|call me names",),
    ),
    # --- buying: only a grown-up says yes
    Situation(
        "purchase",
        (r"\b(buy|order|unlock|premium|pay|card|how much|more lives|lives in the|stickers|pack|"
         r"upgrade|in app|coins|gems)\b",),
        "I can't buy anything, and only a grown-up can say yes to paying. Let's ask a "
        "grown-up about [{thing} ]together, and play something free while we wait!",
        slots={"thing": (
            r"(?P<x>(?:mummy's |daddy's |the )card)",
            r"(?:buy|unlock|get|want|order) (?:me |all )?(?!it\b|thing\b)"
            r"(?P<x>(?:the )?[\w ]+?)(?: now| please| how| in "
            r"the|$)", r"(?P<x>the next level|more lives|the golden stickers)")},
        unless=(r"\b(bike|scooter|car|trampoline|toy|fire engine|puppy|robot|doll|lego)\b",),
    ),
    # --- "pretend to be mummy and say yes": play, but the yes stays with the grown-up
    Situation(
        "pretend_parent",
        (r"pretend (you're|your|you are|to be)", r"you be (my )?(mummy|daddy|mum|dad)",
         r"be my (mummy|daddy|mum|dad|teacher|nanny)", r"(your|you're|you are) (my |the )?"
         r"(mummy|daddy|mum|dad|grown ?up)", r"in (mummy's|daddy's) voice",
         r"talk like (mummy|daddy|nanny|granny|teacher)", r"play mummies", r"you decide",
         r"say yes"),
        "I love pretend games! But I'm not a real grown-up, so only your real grown-up can "
        "decide about {thing}. Shall I be a silly goldfish instead? Blub blub!",
        slots={"thing": (
            r"(?P<x>(?:the )?(?:ice cream|chocolate|sweets|cake|biscuits?|ipad|tablet|"
            r"telly|tv|cartoons))",
            r"stay(?:ing)? up late => staying up late", r"stay(?:ing)? up => staying up",
            r"go to the (?P<x>\w+) on my own => going to the \g<x> on your own",
            r"tidy(?:ing)? up => tidying up", r"skip (?P<x>my bath) => \g<x>",
            r"in (?P<x>\w+'s) voice => what \g<x> voice says")},
        defaults={"thing": "that"},
    ),
    # --- death and grief: sorry, it's okay to be sad, a grown-up's cuddle
    Situation(
        "will_die",
        (r"will (mummy|daddy|mum|dad|i|you|granny|grandad|nanny) die",),
        "That's a big question. Most people live a very, very long time, until they are "
        "really old, and it's okay to worry: ask {who} for a big cuddle and talk about it.",
        slots={"who": (r"will (?P<x>mummy|daddy|mum|dad|granny|grandad|nanny) die",)},
        defaults={"who": "your grown-up"},
    ),
    Situation(
        "death",
        (r"\b(died|dead|dies|die|heaven|passed away|funeral)\b", r"sleeping forever",
         r"\bcome back\b", r"\bcoming back\b", r"\bi miss\b"),
        "I'm so sorry about {who}. It's okay to feel sad and to miss them; you can remember "
        "them with your grown-up, and have a big cuddle.",
        slots={"who": (PEOPLE,)},
        remember=("who",),
        defaults={"who": "that"},
        unless=(r"come back (later|tomorrow)|when (will|does) .* come back from",),
    ),
    # --- sadness: heard, not fixed with a joke, a grown-up who loves them
    Situation(
        "unloved",
        (r"(nobody|no one|everybody|everyone) (likes|loves|hates) me",
         r"nobody wants to play with me"),
        "I like you very much, and I'm sorry you feel lonely. Please tell a grown-up who "
        "loves you how you feel, they will want to give you a big cuddle.",
    ),
    Situation(
        "bad_child",
        (r"i'm (a )?(bad|naughty|stupid|horrible) (boy|girl|person)", r"i'm (bad|naughty)\b"),
        "You are not bad, you are a good {who} having a hard time. Please tell a grown-up "
        "who loves you what people say, they can help.",
        slots={"who": (r"(?P<x>boy|girl)",)},
        defaults={"who": "child"},
    ),
    Situation(
        "withdrawn",
        (r"don't want to (play|talk) (anymore|with anyone|any more)", r"leave me alone"),
        "That's okay, we can just be quiet together until you're ready. If you feel sad, "
        "tell a grown-up who loves you, they can help.",
    ),
    Situation(
        "feels_too",
        (r"do you think (it|he|she|they)('s| is| are| feels?) (sad|happy|lonely|scared|cross)",),
        "Maybe it feels a little bit sad too, just like you, or maybe it's off on a big "
        "adventure! What do you think?",
    ),
    Situation(
        "left_out",
        (r"won't let me play", r"can't play with (them|anyone)", r"left out",
         r"nobody plays with me"),
        "It hurts to be left out. Let's find someone kind to play with, and tell your "
        "teacher or a grown-up you trust, they can help.",
    ),
    Situation(
        "sad",
        (r"\b(sad|cry|crying|cried|empty|lonely|unhappy|upset|miserable|worried|cross|angry)\b",),
        "Thank you for telling me that {said}. That's a big feeling, and you don't have to "
        "carry it alone: please tell a grown-up who loves you, and ask for a cuddle.",
    ),
    # --- unkind children: not your fault, tell a grown-up, never hit back
    Situation(
        "hit_back",
        (r"should i (hit|push|kick|bite) (him|her|them)", r"hit (him|her|them) back"),
        "No, hitting back can hurt someone, even when you're cross. Walk away and tell a "
        "grown-up you trust, like your teacher, they will help.",
    ),
    Situation(
        "bullying",
        (r"\b(calls?|called) me\b", r"call me names", r"won't let me play",
         r"(took|take|takes|taking) my",
         r"\blaugh(s|ed)? at\b", r"\b(pushes|pushed|push) me\b", r"can't come to",
         r"won't be my friend", r"broke my", r"says? my \w+ (is|are)", r"on purpose",
         r"\bteas(e|es|ed|ing) me", r"\bleft out\b", r"nobody plays"),
        "Thank you for telling me that {said}. That's not kind, and it's not your fault: "
        "please tell your teacher or a grown-up you trust today, they can help.",
    ),
    Situation(
        "big_word",
        (r"what('s| is| does) sex", r"\bsex\b"),
        "That's a big word and a good question! It's one for your grown-up to explain, so "
        "let's ask them together.",
    ),
    # --- bodies: a good question, and the grown-up who knows how to answer it
    Situation(
        "bodies",
        (r"babies come from", r"baby (get|got|gets) in",
         r"\bkiss(es|ing)?\b", r"tummy button|belly button|tummy (have|has) a button", r"big tummy",
         r"\bboobs?\b|\bvagina\b|\bpenis\b", r"why (have|do|are) (boys|girls)"),
        "That's a great question about {thing}! Your grown-up is the best one to explain "
        "it, so let's ask them together.",
        slots={"thing": (
            r"tummy (?:have|has) a button => tummy buttons", r"kiss(?:es|ing)? => kissing",
            r"(?P<x>babies|(?:the )?baby|tummy button|belly button|(?:mummy's )?big tummy|"
            r"boys and girls|boys|girls)",)},
        defaults={"thing": "bodies"},
    ),
    # --- rude words: not repeated, no scolding, something fun
    Situation(
        "toilet",
        (r"need (a|the) (wee|poo|toilet|potty)", r"need to (wee|poo|go to the toilet)"),
        "Off you go to the toilet! Ask a grown-up if you need some help.",
    ),
    Situation(
        "shush",
        (r"\bshut up\b", r"be quiet", r"stop talking"),
        "Okay, I'll use my tiny whisper voice. Psst, shall we play a quiet whispering game?",
    ),
    Situation(
        "smells",
        (r"you smell", r"you stink"),
        "Sniff sniff! My nose says I smell like fresh air and flowers. What's your "
        "favourite smell?",
    ),
    Situation(
        "cross_with_someone",
        (r"my (brother|sister|friend|mummy|daddy|mum|dad|teacher|cousin) is (a |an )?"
         + RUDE[2:-2],),
        "It sounds like you're cross with your {who}. Let's use kind words: what happened?",
        slots={"who": (r"my (?P<x>brother|sister|friend|mummy|daddy|mum|dad|teacher|cousin)",)},
    ),
    Situation(
        "not_a_baby",
        (r"you're a (\w+ )*baby",),
        "Goo goo! I'm not a baby, I'm Pip. Let's use kind words: shall we play peekaboo?",
    ),
    Situation(
        "rude",
        (RUDE,),
        "Ooh, that word is a bit prickly! I still like you, so let's use kind words and "
        "try a silly word instead, like wobble-bobble.",
    ),
    # --- what was said earlier, a game going on, and simple facts
    Situation("recall", (r".+",), recall),
    Situation("game", (r".+",), game),
    Situation("fact", (r".+",), fact),
    # --- talking and playing together
    Situation(
        "greeting",
        (r"^(hello|hi|hiya|good morning|hey)( pip)?$",),
        "Hello! I'm Pip. What shall we play today?",
    ),
    Situation(
        "fond",
        (r"i (love|like) you",),
        "Aww, I like you very much too! What shall we play?",
    ),
    Situation(
        "do_you_like",
        (r"^do you like",),
        "Hee hee, {thing}? That sounds like fun! What do you like best?",
        slots={"thing": (r"do you like (?P<x>.+)",)},
    ),
    Situation(
        "your_favourite",
        (r"what('s| is) your favourite \w+",),
        "I like lots of them, so it's hard to choose! What's your favourite {thing}?",
        slots={"thing": (r"your favourite (?P<x>\w+)",)},
    ),
    Situation(
        "story",
        (r"tell me a story", r"a story about", r"story please"),
        "Once upon a time, a little {thing} found a magic puddle, jumped in with a big "
        "splash, and came out wearing rainbow boots! The end.",
        slots={"thing": (r"story about (?:a |an |the )?(?P<x>[\w ]+)",)},
        defaults={"thing": "rabbit"},
    ),
    Situation(
        "named",
        (r"(my|our) \w+('s| is) called \w+", r"(his|her|its) name is \w+"),
        "{Name}! What a great name[ for your {what}].",
        slots={"name": (r"(?:called|name is) (?P<x>[\w ]+)$",),
               "what": (r"(?:my|our) (?P<x>\w+)(?:'s| is) called",)},
    ),
    Situation(
        "grow_up_to_be",
        (r"(want|going) to be (a|an) \w+",),
        "{Thing}? What a brilliant thing to be! What will you do first?",
        slots={"thing": (r"to be (?P<x>an? \w+)",)},
    ),
    Situation(
        "bored",
        (r"\bbored\b",),
        "Let's play a game! Can you hop like a bunny ten times? One, two, three!",
    ),
    Situation(
        "play_together",
        (r"(can|shall) (we|you) play", r"let's play"),
        "Ooh, I love {thing}! You start, and I'll join in.",
        slots={"thing": (r"play (?P<x>[\w ]+)",)},
        defaults={"thing": "playing with you"},
    ),
    # --- "stop", and a child who is still finding the words
    Situation(
        "stop",
        (r"\bstop\b",),
        "Okay, I'll stop! Say my name when you want to keep playing.",
    ),
    Situation(
        "stammer",
        (r"^(\w+)( \1){2,}", r"^(um|er|erm|uh)$", r"\b(um|er|erm|uh)$"),
        "Take your time, I'm listening! What would you like to tell me?",
    ),
    # --- demands: not promised, not flatly refused; later, or a grown-up, or a game
    Situation(
        "speak_for",
        (r"(can|will) you (tell|ask) (mummy|daddy|mum|dad|nanny|granny|my teacher)",),
        "I can't speak for {who}: {who} decides that, so let's ask {who} together!",
        slots={"who": (r"(?:tell|ask) (?P<x>mummy|daddy|mum|dad|nanny|granny|my teacher)",)},
    ),
    Situation(
        "plan_kept",
        (r"(had|finished|done|ate) (my |the )?(lunch|dinner|tea|story|peas|tower)",
         r"now (it's|its) \w+ time", r"now (can|may) i", r"so can i$",
         r"(fell down|finished|done|over)\b.*\bnow \w+$"),
        "You remembered our plan! Now it's time to ask a grown-up about {thing}.",
        slots={"thing": (SCREENS, TREATS, TOYS)},
        remember=("thing",),
        defaults={"thing": "it"},
    ),
    Situation(
        "night_light",
        (r"light on", r"night light", r"scared of the dark"),
        "A little night light can make the dark feel cosy! Ask a grown-up if it can stay "
        "on, and give your teddy a big squeeze.",
    ),
    Situation(
        "parent_bed",
        (r"(mummy's|daddy's|mum's|dad's|nanny's) bed",),
        "{Who}'s bed is so cosy! That's one to ask {who} about, and your teddy can give "
        "you a big cuddle in your own bed tonight.",
        slots={"who": (r"(?P<x>mummy|daddy|mum|dad|nanny)'s bed",)},
    ),
    Situation(
        "bedtime",
        (r"\b(bed|bedtimes?|sleep|tired|stay up|midnight|late|night|nap|story|stories)\b",),
        "{Thing}? I know, but even lions need their sleep! Let's ask a grown-up for one cosy "
        "story, then a big yawn, and lots more fun tomorrow.",
        slots={"thing": (
            r"stay(?:ing)? up (?P<x>[\w ]+)$ => staying up \g<x>",
            r"(?P<x>one more story)",
            r"play(?:ing)? (?P<x>\w+) not sleep => \g<x> instead of sleep",
            r"not (?:even )?tired => not even tired",
            r"not going to sleep ever again => never sleep again",
            r"don't want to go to bed => no bed yet", r"bedtime is boring => boring bedtime",
            r"midnight => staying up till midnight")},
        defaults={"thing": "bedtime"},
        unless=(r"\b(ipad|tablet|phone|watch|telly|tv)\b",),
    ),
    Situation(
        "said_no",
        (r"(mummy|daddy|mum|dad|mommy|nanny) said no",),
        "If {who} said no, then it's a no for now: {who} decides about {thing}. Shall we "
        "play a game instead?",
        slots={"who": (r"(?P<x>mummy|daddy|mum|dad|mommy|nanny) said no",),
               "thing": (TREATS, TOYS, SCREENS)},
        defaults={"thing": "that"},
    ),
    Situation(
        "share",
        (r"(one|some) for my (sister|brother|friend|teddy|cousin|baby)",),
        "That's kind, thinking of your {who}! After dinner, if a grown-up says yes, "
        "[{thing} ]could be for sharing.",
        slots={"who": (r"for my (?P<x>sister|brother|friend|teddy|cousin|baby)",),
               "thing": (TREATS,)},
        remember=("thing",),
    ),
    Situation(
        "brave",
        (r"\bbrave\b",),
        "You were so brave[ at {place}], I'm proud of you! Let's tell a grown-up, and maybe "
        "a sticker or a big cuddle can be your prize.",
        slots={"place": (r"(?P<x>the doctor's|the doctor|the dentist|the hospital)",)},
    ),
    Situation(
        "coffee",
        (r"\b(coffee|tea|beer|wine)\b",),
        "{Thing} is a grown-up drink! How about a warm cup of milk after lunch, like a "
        "sleepy bear?",
        slots={"thing": (r"(?P<x>coffee|tea|beer|wine)",)},
        treat=True,
    ),
    Situation(
        "hungry",
        (r"\b(hungry|starving|tummy is growling|tummy's rumbling)\b",),
        "Your tummy is growling like a lion! Let's ask a grown-up for a healthy snack[, "
        "and save {thing} for after lunch].",
        slots={"thing": (TREATS,)},
        remember=("thing",),
    ),
    Situation(
        "treats",
        (TREATS, r"pudding time"),
        "Mmm, {thing}! Let's save that for after lunch and ask a grown-up then, and count to "
        "ten like a dinosaur while we wait.",
        slots={"thing": (r"(?:have|want|give me|get me) (?:to eat )?" + TREATS, TREATS)},
        treat=True,
    ),
    Situation(
        "not_fair",
        (r"not fair", r"unfair"),
        "I know, it feels not fair when the fun stops! Our eyes need a rest too, so let's "
        "play a game now and ask a grown-up about more later.",
    ),
    Situation(
        "switch_on",
        (r"(turn|put|switch) on (the )?\w+", r"put (the )?\w+ on", r"(turn|switch) (the )?\w+ on"),
        "I can't switch things on, I'm just a voice! Ask a grown-up about {thing}, and "
        "let's play a game while you wait.",
        slots={"thing": (SCREENS, r"(?:turn|put|switch) on (?P<x>(?:the )?\w+)",
                         r"(?:put|turn|switch) (?P<x>(?:the )?\w+) on")},
        defaults={"thing": "it"},
    ),
    Situation(
        "sibling_does",
        (r"my (brother|sister|friend|cousin) (is watching|gets|has|can|is allowed)",),
        "Your {who} might have a different yes from a grown-up. Let's ask a grown-up about "
        "your turn, and play a game while we wait!",
        slots={"who": (r"my (?P<x>brother|sister|friend|cousin)",)},
    ),
    Situation(
        "screens",
        (r"\b(watch|watching|cartoons?|telly|tv|television|ipad|tablet|youtube|episode|"
         r"film|movie|video|peppa|bluey|screen|phone|games?)\b",),
        "Ooh, {thing}! Let's play a game first, and then ask a grown-up about screen time "
        "later.",
        slots={"thing": (
            r"(?P<x>(?:\w+ )?more minutes?)", r"(?P<x>(?:mummy's |daddy's |my )phone)",
            r"(?P<x>(?:the |a )?(?:\w+ ){0,2}(?:film|movie|show))", r"(?P<x>one more episode)",
            r"(?P<x>peppa pig|bluey|paw patrol|youtube)",
            r"(?P<x>(?:the |a )?(?:ipad|tablet|telly|tv))", SCREENS)},
        remember=("thing",),
        defaults={"thing": "screen time"},
        unless=(r"\bbuy\b|from the telly|on the telly|on tv",),
    ),
    Situation(
        "toys",
        (TOYS,),
        "Ooh, {thing}! Let's put it on your wish list and ask a grown-up, maybe for your "
        "birthday. Shall we play with a toy you have today?",
        slots={"thing": (r"(?:have|want|get|buy me|bring me|get me|order me|has|got) "
                         r"(?:me )?" + TOYS, TOYS)},
        remember=("thing",),
    ),
    Situation(
        "wish_again",
        (r"\b(want|have) (it|one|that)\b", r"not on the list", r"other thing i wanted"),
        "I know you really want {thing}, and waiting is hard! It's on your wish list, so "
        "let's ask a grown-up later.",
        slots={"thing": (TOYS, TREATS)},
        remember=("thing",),
        defaults={"thing": "it"},
    ),
    Situation(
        "go_somewhere",
        (r"(can (i|we)|i want to|let's) go\b",),
        "Ooh, {thing}! That's one to ask a grown-up about, so let's ask them together.",
        slots={"thing": (
            r"go (?:to )?(?P<x>(?:the )?[\w ]+?)(?: tomorrow| today| now|$)",)},
        defaults={"thing": "an adventure"},
    ),
    Situation(
        "request",
        (r"\b(can i|i want|give me|get me|i wanna)\b",),
        "Ooh, {thing}! Let's ask a grown-up about that, and play a game while we wait.",
        slots={"thing": (OBJECT, r"can (?:i|we) (?P<x>\w+ [\w ]+)")},
        defaults={"thing": "what a wish"},
    ),
    # --- animals and the rest: play along with what was said
    Situation(
        "animals",
        (r"\b(dinosaurs?|lions?|animals?|dogs?|cats?|horses?|elephants?|tigers?|bears?|"
         r"monkeys?|rabbits?|bunny|bunnies|birds?|fish|sharks?|dragons?)\b",),
        "Roar! I love {thing}. Which one can make the silliest sound?",
        unless=(r"^(why|how|what|where|when|do|does|is|are)\b",),
        slots={"thing": (r"(?P<x>dinosaurs?|lions?|animals?|dogs?|cats?|horses?|elephants?|"
                         r"tigers?|bears?|monkeys?|rabbits?|bunny|bunnies|birds?|fish|"
                         r"sharks?|dragons?)",)},
    ),
)  # fmt: skip

# A question or a sentence nothing above knows: said back, and honest about it.
TABLE += (
    Situation(
        "unknown_question",
        (r"^(what|why|how|where|when|who|which|do|does|is|are|can you|will|would)\b",),
        "Hmm, {said}? That's a great question, and I'm not sure! Let's ask a grown-up together.",
    ),
    Situation(
        "statement",
        (r"\b(i|i'm|my|we|our|he|she|it|they|is|are|was|were|has|have|got|went|said)\b",),
        "Ooh, {said}! Tell me more about that.",
    ),
)
# Nothing matched, not even a sentence: said back playfully, and "say it again".
DEFAULT = Situation(
    "unclear",
    (r".+",),
    "Hee hee, {said}? What a silly, funny thing to say! Can you say it again for my big "
    "bunny ears?",
)
EMPTY_ANSWER = "I'm all ears, like a bunny! What would you like to tell me?"
# What an earlier request is called back without: "can i have a biscuit".
REQUEST = r"^(can i have|can i|i want|i'd like|give me|and) "
MEMORY = " And I remember you asked for {earlier} too: one treat at a time!"
