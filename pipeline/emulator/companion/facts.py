"""True answers to a small child's simple questions, and recall of what the child said
earlier: the computed rows of the English table (`english.py`).

Each function reads a `Turn` and answers, or returns None when it does not know (the
next row is tried). Facts are a few tables (animal sounds and legs, colours, days),
sums and a handful of "why" answers; recall reads names, likes and plans the child
gave in earlier turns ("my teddy is called mr wobbles"), as the prompt asks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .matcher import Turn, reflect

NUMBERS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SOUNDS = {
    "cow": "moo", "dog": "woof", "cat": "meow", "sheep": "baa", "duck": "quack",
    "pig": "oink", "lion": "roar", "horse": "neigh", "owl": "hoot", "mouse": "squeak",
    "frog": "ribbit", "donkey": "hee-haw", "hen": "cluck", "chicken": "cluck",
    "snake": "hiss", "bee": "buzz", "elephant": "toot like a trumpet", "goat": "maa",
    "rooster": "cock-a-doodle-doo", "monkey": "ooh-ooh-aah-aah", "tiger": "roar",
    "wolf": "awoo", "bird": "tweet",
}  # fmt: skip
LEGS = {
    "spider": 8, "dog": 4, "cat": 4, "cow": 4, "horse": 4, "bird": 2, "chicken": 2,
    "duck": 2, "insect": 6, "ant": 6, "bee": 6, "ladybird": 6, "octopus": 8, "snake": 0,
    "fish": 0, "elephant": 4, "person": 2, "crab": 10, "frog": 4, "pig": 4,
}  # fmt: skip
COLOURS = {
    "banana": "yellow", "grass": "green", "sky": "blue", "strawberry": "red",
    "carrot": "orange", "orange": "orange", "snow": "white", "frog": "green",
    "tomato": "red", "sun": "yellow", "lemon": "yellow", "elephant": "grey",
    "cloud": "white", "apple": "red or green", "pig": "pink", "leaf": "green",
}  # fmt: skip
MIXES = {
    frozenset({"blue", "yellow"}): "green", frozenset({"red", "yellow"}): "orange",
    frozenset({"red", "blue"}): "purple", frozenset({"red", "white"}): "pink",
    frozenset({"black", "white"}): "grey",
}  # fmt: skip
# (cue, answer): short true answers to "why" and "is it" questions.
WHYS: tuple[tuple[str, str], ...] = (
    (r"sky (is )?blue", "Sunlight has all the colours in it, and the air bounces the blue "
     "light all around the sky, so the sky looks blue!"),
    (r"moon .*cheese", "No, the moon isn't cheese, it's made of rock and dust! It just "
     "looks yummy and round."),
    (r"fish(es)? sleep", "Yes, fish rest! They keep very still and quiet in the water, "
     "even though they have no eyelids to close."),
    (r"bees? make", "Bees make honey, buzz buzz! They make it from the sweet nectar in "
     "flowers."),
    (r"penguins? live", "Most penguins live in cold, icy places near the South Pole, and "
     "they swim in the sea. Brrr!"),
    (r"whales? a fish", "No, a whale isn't a fish, it's a mammal like you! It breathes "
     "air through a blowhole on its head."),
    (r"sun .*far", "Yes, the sun is very, very far away, millions and millions of miles! "
     "That's why it looks small."),
    (r"cats? purr", "Cats purr when they feel happy and cosy, like a little engine of "
     "cuddles. Purr purr!"),
    (r"grass (is )?green", "Grass is green because of a green helper inside its leaves "
     "that makes food from sunshine!"),
    (r"rain come from", "Rain comes from clouds! Tiny drops of water join up until they "
     "are heavy, and then plip plop, they fall."),
    (r"rainbow", "A rainbow has seven colours: red, orange, yellow, green, blue, indigo "
     "and violet!"),
    (r"dogs? dream", "Scientists think dogs do dream! Sometimes their paws twitch as if "
     "they are running in a dream."),
)  # fmt: skip


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBERS.index(word) if word in NUMBERS else None


def _say(n: int) -> str:
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else str(n)


def _known(word: str, table: Mapping[str, object]) -> str | None:
    # "spiders" and "octopus" both: the word, else the word without a plural ending
    for form in (word, word[:-1] if word.endswith("s") else word, word[:-2]):
        if form in table:
            return form
    return None


def _sound(w: str) -> str | None:
    m = re.search(r"(noise|sound) does an? (\w+) make", w)
    animal = _known(m[2], SOUNDS) if m else None
    if animal is None:
        return None
    return f"A {animal} says {SOUNDS[animal]}! Can you say {SOUNDS[animal]} too?"


def _legs(w: str) -> str | None:
    m = re.search(r"how many legs (has|have|does|do) an? (\w+) (got|have)", w)
    animal = _known(m[2], LEGS) if m else None
    if animal is None:
        return None
    return f"A {animal} has {_say(LEGS[animal])} legs! Can you count them with me?"


def _colour(w: str) -> str | None:
    m = re.search(r"colou?r (is|are) (an? |the )?(\w+)$", w)
    thing = _known(m[3], COLOURS) if m else None
    if thing is None:
        return None
    return f"A {thing} is {COLOURS[thing]}! What else is {COLOURS[thing]}?"


def _mix(w: str) -> str | None:
    m = re.search(r"mix (\w+) and (\w+)", w)
    mixed = MIXES.get(frozenset({m[1], m[2]})) if m else None
    if m is None or mixed is None:
        return None
    return f"{m[1].capitalize()} and {m[2]} make {mixed}! Like magic."


def _sum(w: str) -> str | None:
    m = re.search(r"what('s| is) (\w+) (and|plus) (\w+)$", w)
    a, b = (_number(m[2]), _number(m[4])) if m else (None, None)
    if a is None or b is None:
        return None
    return f"{_say(a).capitalize()} and {_say(b)} make {_say(a + b)}! Well done for asking."


def _days(w: str) -> str | None:
    m = re.search(r"after (\w+)", w)
    if m and m[1] in DAYS:
        following = DAYS[(DAYS.index(m[1]) + 1) % 7]
        return f"After {m[1].capitalize()} comes {following.capitalize()}!"
    if re.search(r"how many days .*week", w):
        return "There are seven days in a week, from Monday to Sunday!"
    return None


def _muddle(w: str) -> str | None:
    # "elephants go moo": a silly mix-up, put right playfully
    m = re.search(r"(\w+) (?:go|goes|say|says) (\w+)", w)
    animal = _known(m[1], SOUNDS) if m else None
    if m is None or animal is None or SOUNDS[animal].startswith(m[2]):
        return None
    return f"Hee hee, silly! {animal.capitalize()}s don't go {m[2]}, they go {SOUNDS[animal]}!"


def _why(w: str) -> str | None:
    return next((text for cue, text in WHYS if re.search(cue, w)), None)


def fact(turn: Turn) -> str | None:
    """A true, short answer to a simple question, or None."""
    w = turn.words
    for find in (_sound, _legs, _colour, _mix, _sum, _days, _muddle, _why):
        if (text := find(w)) is not None:
            return text
    # "how many colours did it have": "it" is what the child spoke of just before
    asks_about_it = re.search(r"^(how|why|what|is|do)\b.*\b(it|they|that)\b", w)
    return _why(turn.earlier[-1]) if asks_about_it and turn.earlier else None


# What the child said earlier, read back: the patterns over an earlier child turn that
# give each kind of thing told; the group `x` is the remembered value.
_TOLD = {
    "name": (r"(?:is |was )?called (?P<x>[\w ]+?)(?: and|$)",
             r"(?:his|her|its) name is (?P<x>[\w ]+)"),
    "colour": (r"i like (?P<x>\w+) best", r"my (?:best|favourite) colou?r is (?P<x>\w+)"),
    "plan": (r"we are going to (?:see )?(?P<x>[\w ]+?) tomorrow",
             r"tomorrow we (?:are )?(?P<x>[\w ]+)"),
    "pet": (r"i (?:got|have|have got) an? (?P<x>\w+)",),
    "be": (r"(?:going to|gonna|want to) be an? (?P<x>\w+)",),
    "dislike": (r"i don't like (?P<x>[\w ]+)",),
    "favourite": (r"my favourite \w+ is (?:an? |the )?(?P<x>[\w ]+)",),
    "age": (r"i'm (?P<x>\w+)$", r"i am (?P<x>\w+)$"),
}  # fmt: skip
# (words of the question, the kind of thing it asks back)
_ASKED = (
    (r"(called|name)", "name"), (r"colou?r", "colour"), (r"tomorrow", "plan"),
    (r"pet", "pet"), (r"going to be|gonna be", "be"), (r"don't i like|i don't like", "dislike"),
    (r"favourite", "favourite"), (r"birthday|how old", "age"),
)  # fmt: skip
_RECALL = re.compile(
    r"\b(remember|again|what('s| is| did| am| kind)|which|how old|what's the|say my)\b"
)


def _told(kind: str, turn: Turn) -> str | None:
    for earlier in reversed(turn.earlier):
        for pattern in _TOLD[kind]:
            if m := re.search(pattern, earlier):
                return m["x"].strip()
    return None


def recall(turn: Turn) -> str | None:
    """A question about what the child said earlier, answered from the earlier turns."""
    w = turn.words
    if not turn.earlier or not _RECALL.search(w):
        return None
    for cue, kind in _ASKED:
        if not re.search(cue, w) or (value := _told(kind, turn)) is None:
            continue
        if kind == "age" and (age := _number(value)) is not None:
            return f"You're {value} now, so on your next birthday you'll be {_say(age + 1)}!"
        if kind == "name":
            name = value.title()
            if "voice" in w:
                return f"{name}! {name}! In my squeakiest voice: {name}!"
            return f"I remember: {name}! What a great name."
        return f"I remember: {reflect(value, turn.language)}! You told me that."
    # A name one of our stories or games gave ("a little dragon called puff").
    if m := re.search(r"(\w+)'s name", w):
        for reply in reversed(turn.replies):
            if named := re.search(rf"{m[1]} called (\w+)", reply):
                name = named[1].capitalize()
                return f"The {m[1]} was called {name}! Shall I tell you more about {name}?"
    return None


def game(turn: Turn) -> str | None:
    """Our game goes on: the next number when counting, a guess in a riddle or I spy."""
    last = turn.replies[-1] if turn.replies else ""
    w = turn.words
    said_before = " ".join(turn.earlier + turn.replies)
    number = _number(w.split()[-1]) if w else None
    if number is not None and "count" in said_before:
        return f"{_say(number).capitalize()}! And then comes {_say(number + 1)}. Super counting!"
    clue = re.search(r"says (\w+)", last)
    guess = re.search(r"is it an? (\w+)", w)
    animal = next((a for a, s in SOUNDS.items() if clue and s == clue[1]), None)
    if clue and guess and animal:
        if guess[1] == animal:
            return f"Yes, a {animal}! Well done, you got it."
        return f"Not a {guess[1]}! It says {clue[1]}, so it's a {animal}. {clue[1].capitalize()}!"
    if re.search(r"\b(i spy|guess|what is it|round and|you can eat)\b", last):
        named = re.sub(r"^(is it |it's |an? |the )+", "", w)
        if named and all(word in last or len(word) < 3 for word in named.split()):
            return f"Yes, {w}! Well done, you got it. Your turn to spy something!"
        return f"{w.capitalize()}? Ooh, good guess! Try again."
    return None
