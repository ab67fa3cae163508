"""A large, phonetically varied set of training sentences for the synthetic speech.

The 30 hand-written training sentences of ``synthetic_speech.SENTENCES`` are too few:
the network learns their words, not the lips of /p b m/ in general. Sentences are drawn
here from templates over word lists that put /p b m/ word-initially, medially and
finally and in clusters (mp, mb, pl, pr, bl, br, sm, sp, mpl, mbl), and that cover the
other English phones (th, sh, ch, j, ng, zh, r, l, w, y, the vowels and diphthongs).

No word of the held-out test sentences (``training.TEST_SENTENCES``) is in these lists
(``test_training_sentences.py`` asserts it), so the held-out benchmark measures lips on
words the network never heard, not only sentences.
"""

from __future__ import annotations

import random

NAMES = ("Pam", "Tim", "Ben", "Emma", "Sam", "Kim", "Mabel", "Robert", "Bill", "Molly", "Philip", "Debbie",
         "Jim", "Pete", "Mary", "Brenda", "Simon", "Abby", "Tommy", "Pablo", "Jasmine", "Chuck", "Sophie",
         "Gabriel", "Martha", "Walter", "Yvonne", "Norman", "Beth", "Jeremy", "Pauline", "Hubert")
SUBJECTS = ("the plumber", "a member", "the pilot", "my neighbor", "the umpire", "our teacher", "the chef",
            "the mayor", "a shepherd", "the bishop", "the captain", "my cousin", "the lumberjack",
            "the baker", "the drummer", "a lawyer", "the builder", "her brother", "his mother", "the prince")
# (present, past) of transitive verbs.
VERBS = (("drop", "dropped"), ("keep", "kept"), ("stop", "stopped"), ("bring", "brought"),
         ("paint", "painted"), ("wrap", "wrapped"), ("climb", "climbed"), ("push", "pushed"),
         ("pull", "pulled"), ("pick", "picked"), ("buy", "bought"), ("sweep", "swept"), ("mop", "mopped"),
         ("stamp", "stamped"), ("dump", "dumped"), ("mend", "mended"), ("tip", "tipped"),
         ("scrub", "scrubbed"), ("rub", "rubbed"), ("comb", "combed"), ("tap", "tapped"),
         ("trim", "trimmed"), ("clean", "cleaned"), ("move", "moved"), ("borrow", "borrowed"),
         ("pack", "packed"), ("place", "placed"), ("sample", "sampled"), ("blame", "blamed"),
         ("praise", "praised"), ("spot", "spotted"), ("love", "loved"), ("bake", "baked"),
         ("boil", "boiled"), ("pour", "poured"), ("ship", "shipped"), ("pluck", "plucked"),
         ("swap", "swapped"), ("lift", "lifted"), ("hide", "hid"), ("fetch", "fetched"), ("wash", "washed"),
         ("watch", "watched"), ("choose", "chose"), ("leave", "left"), ("hang", "hung"), ("shape", "shaped"),
         ("describe", "described"), ("examine", "examined"), ("remember", "remembered"),
         ("imagine", "imagined"), ("admire", "admired"), ("damage", "damaged"), ("polish", "polished"),
         ("bury", "buried"), ("grip", "gripped"), ("sip", "sipped"), ("zip", "zipped"), ("stub", "stubbed"))
ADJECTIVES = ("brown", "purple", "empty", "plump", "damp", "simple", "broken", "bumpy", "crisp", "pink",
              "grim", "humble", "warm", "limp", "superb", "tiny", "heavy", "sleepy", "bright", "shabby",
              "rubber", "pale", "proper", "famous", "pretty", "cheap", "bitter", "sweet", "lumpy", "smooth_",
              "rough", "shiny", "yellow", "orange", "green", "wooden", "golden", "plastic", "metal", "ample",
              "humid", "prime", "crumpled", "stubborn", "supreme", "timid", "vivid", "zippy", "thorny",
              "pleasant", "clumsy", "nimble", "gloomy", "spooky", "bulky", "pompous", "wobbly")
NOUNS = ("lamp", "stamp", "plum", "pump", "drum", "comb", "lamb", "tomb", "crumb", "thumb", "club", "tub",
         "cab", "web", "mop", "cup", "cap", "pipe", "soap", "grape", "tape", "ship", "jam", "ham", "plate",
         "bottle", "apple", "puzzle", "blanket", "umbrella", "pumpkin", "basket", "hammer", "camera",
         "ribbon", "bubble", "pebble", "table", "cabin", "robot", "pillow", "helmet", "trumpet", "carpet",
         "pepper", "bridge", "broom_", "lemon", "melon", "sample", "temple", "wagon", "jacket",
         "envelope", "lobster", "mirror", "treasure", "engine", "feather", "cushion", "journal", "napkin",
         "parcel", "pencil", "rabbit", "sandwich_", "shovel", "spoon", "tumbler", "vase", "zebra")
PLACES = ("kitchen", "garden", "attic", "cupboard", "hallway", "bedroom", "bathtub", "pantry", "temple",
          "library", "harbor", "stadium", "campsite", "barbershop", "warehouse", "basement", "chapel",
          "market", "swamp", "embassy")
PREPOSITIONS = ("near", "behind", "under", "above", "beside", "past", "inside", "beneath", "among", "toward",
                "upon", "across", "around", "below")
ADVERBS = ("promptly", "happily", "calmly", "simply", "barely", "mostly", "probably", "rapidly", "gently",
           "properly", "quietly", "badly", "humbly", "grimly", "warmly", "briefly", "bravely", "politely",
           "smoothly_", "plainly", "amply", "sloppily", "merrily", "patiently")
TIMES = ("on Monday", "in September", "by lunchtime", "at midnight", "in the morning", "every April",
         "in the summer_", "before supper", "after the storm", "last Tuesday", "in December", "at breakfast")

# Entries marked with a trailing "_" are left out (they are, or sound like, held-out
# words); the marker keeps the list readable and is dropped before use.
TEMPLATES = (
    "{name} {past} the {adj} {noun} {prep} the {noun2}",
    "{subject} {past} a {adj} {noun} in the {place}",
    "Please {verb} the {noun} {prep} my {noun2}",
    "Maybe {name} will {verb} the {adj} {noun} {time}",
    "Why did {subject} {verb} the {noun} {adverb}",
    "The {adj} {noun} {prep} the {place} was {adj2}",
    "{name} and {name2} {past} some {adj} {noun}s {time}",
    "Bring me the {noun} and the {adj} {noun2}",
    "{subject} {adverb} {past} the {noun} from the {place}",
    "My {noun} is {adj} but your {noun2} is {adj2}",
    "We might {verb} a {noun} and a {noun2} {time}",
    "Can {name} {verb} the {noun}s {prep} the {place}",
    "{name} kept a {adj} {noun} {prep} the {noun2} {time}",
    "Remember to {verb} the {adj} {noun} {adverb}",
    "Both {noun}s were {adj} and {adj2}",
)


def _clean(words: tuple[str, ...]) -> list[str]:
    return [w for w in words if not w.endswith("_")]


def word_lists() -> dict[str, list]:
    """The usable entries of every word list (marked entries dropped)."""
    return {"name": _clean(NAMES), "subject": _clean(SUBJECTS), "verb": [v for v in VERBS],
            "adj": _clean(ADJECTIVES), "noun": _clean(NOUNS), "place": _clean(PLACES),
            "prep": _clean(PREPOSITIONS), "adverb": _clean(ADVERBS), "time": _clean(TIMES)}


def generated_sentences(count: int, seed: int = 0, exclude: frozenset[str] = frozenset()) -> list[str]:
    """``count`` distinct random sentences (fewer only if the templates run dry), none of
    whose lower-case words is in ``exclude``. Reproducible for a given seed."""
    rng = random.Random(seed)
    lists = word_lists()
    sentences: list[str] = []
    seen: set[str] = set()
    for _attempt in range(count * 20):
        if len(sentences) >= count:
            break
        template = rng.choice(TEMPLATES)
        name, name2 = rng.sample(lists["name"], 2)
        noun, noun2 = rng.sample(lists["noun"], 2)
        adj, adj2 = rng.sample(lists["adj"], 2)
        present, past = rng.choice(lists["verb"])
        sentence = template.format(name=name, name2=name2, subject=rng.choice(lists["subject"]), verb=present,
                                   past=past, adj=adj, adj2=adj2, noun=noun, noun2=noun2,
                                   place=rng.choice(lists["place"]), prep=rng.choice(lists["prep"]),
                                   adverb=rng.choice(lists["adverb"]), time=rng.choice(lists["time"]))
        sentence = sentence[0].upper() + sentence[1:]
        if sentence in seen or any(w in exclude for w in sentence.lower().split()):
            continue
        seen.add(sentence)
        sentences.append(sentence)
    return sentences
