"""Scenes in words: captions generated from the labels, and sentences parsed back into facts.

A caption says every object in the scene and, in one of several phrasings, how they are related:

    a blue pup sitting in a red rocket flying near a crescent moon
    a red rocket standing far from the full moon, with a blue pup beside it
    a blue pup to the left of a green rocket flying to the right of the full moon

``loose`` gives phrasings that leave near/far unsaid. ``parse`` reads such a sentence back into *facts*
(``labels.FACTS``): which objects are there (every object a sentence names, and only those), the rocket's
colour and the moon's phase, and each relation it states; what it does not say is ``None`` (anything
goes). ``satisfies`` checks facts against a scene.
The grammar is small on purpose: words outside it are refused with the list of words it knows.
"""
from __future__ import annotations

import re

from .labels import FACTS, MOON_PHASES, OBJECTS, RELATIONS, ROCKET_COLOURS, SceneLabels, facts

# The sentences the course asks both teams to draw (notebooks 08 and 10).
CHALLENGE_PROMPTS = (
    "the pup sitting in a rocket flying near the moon",
    "the pup beside a rocket flying near the moon",
    "the pup sitting in a rocket flying far from the moon",
    "the pup beside a rocket standing far from the moon",
    "a rocket flying to the left of the moon",
)


def _a(word: str) -> str:
    """The word with its indefinite article: "a red", "an orange"."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _rocket(labels: SceneLabels) -> str:
    """The rocket as captions say it: "a red rocket flying", "an orange rocket standing"."""
    return f"{_a(labels.rocket_colour)} rocket {'flying' if labels.flying else 'standing'}"


def phrasings(labels: SceneLabels) -> list[str]:
    """Every phrasing of a scene's caption; each says all of its objects and relations."""
    f = facts(labels)
    pup = "a blue pup"
    if f["rocket"]:
        rocket = _rocket(labels)
    if f["moon"]:
        moon, the_moon = f"{_a(labels.moon_phase)} moon", f"the {labels.moon_phase} moon"

    if f["pup"] and f["rocket"]:
        if f["pup_in_rocket"]:
            subjects = [f"{pup} sitting in {rocket}", f"{rocket} with {pup} inside", f"{pup} riding in {rocket}"]
        else:
            side, other = ("left", "right") if f["pup_left_of_rocket"] else ("right", "left")
            subjects = [f"{pup} to the {side} of {rocket}", f"{rocket} to the {other} of {pup}",
                        f"{pup} beside {rocket}"]
    elif f["rocket"]:
        subjects = [rocket]
    elif f["pup"]:
        subjects = [pup]
    else:
        subjects = []

    if not f["moon"]:
        if not subjects:
            return ["an empty starry sky", "a starry night sky"]
        return [s + tail for s in subjects for tail in ("", " in the night sky", " among the stars")]
    if not f["rocket"]:
        return [f"{pup} under {moon}", f"{moon} above {pup}"] if f["pup"] else \
            [f"{moon} in a starry sky", f"{the_moon} among the stars"]
    near = "near" if f["rocket_near_moon"] else "far from"
    rside = "left" if f["rocket_left_of_moon"] else "right"
    out = []
    for s in subjects:
        out += [f"{s} {near} {moon}", f"{s} {near} {the_moon}"]
    # the side of the moon, said right after the rocket, so "to the left of" binds rocket and moon
    if f["pup"] and not f["pup_in_rocket"]:
        out += [f"{pup} beside {rocket} {near} and to the {rside} of {the_moon}"]
    else:
        head = f"{pup} sitting in {rocket}" if f["pup"] else rocket
        out += [f"{head} to the {rside} of {the_moon}, {near} it"]
    if f["pup"] and not f["pup_in_rocket"]:
        out += [f"{rocket}, {near} {the_moon}, with {pup} beside it"]
    return out


def loose(labels: SceneLabels) -> list[str]:
    """Phrasings that leave *near* or *far* unsaid, as people often do ("a rocket flying to the left of
    the moon"): still true of the scene, and said with its colours and phases like ``phrasings``. Empty
    when the scene has no rocket and moon to relate. A model that never hears such a sentence reads the
    missing ", near it" as "no moon" (notebook 08's finding); training mixes these in (``unsaid_share``)."""
    f = facts(labels)
    if not (f["rocket"] and f["moon"]):
        return []
    rocket, pup = _rocket(labels), "a blue pup"
    head = (f"{pup} sitting in {rocket}" if f["pup_in_rocket"] else f"{pup} beside {rocket}" if f["pup"]
            else rocket)
    side = "left" if f["rocket_left_of_moon"] else "right"
    return [f"{head} to the {side} of the {labels.moon_phase} moon",
            f"{head} to the {side} of {_a(labels.moon_phase)} moon"]


_ATTRIBUTE = "|".join([*ROCKET_COLOURS, *MOON_PHASES])


def plain(sentence: str) -> str:
    """The sentence with its colours and phases left out, as people say it: "a blue pup sitting in a red
    rocket near the full moon" -> "the pup sitting in a rocket near the moon". Still true of the same
    scenes, and the way the challenge prompts are said."""
    out = re.sub(rf"\b(a|an) ({_ATTRIBUTE}) ", "a ", sentence)
    out = re.sub(rf"\bthe ({_ATTRIBUTE}) ", "the ", out)
    return re.sub(r"\ba blue pup\b", "the pup", out)


def caption(labels: SceneLabels) -> str:
    """The scene's caption: its phrasing number ``labels.phrasing`` of ``phrasings(labels)``."""
    p = phrasings(labels)
    return p[labels.phrasing % len(p)]


# --------------------------------------------------------------------------- reading sentences

_FILLER = {"a", "an", "the", "blue", "sitting", "riding", "in", "with", "and", "it", "its", "night", "sky",
           "starry", "stars", "among", "under", "above", "empty", "to", "of"}
_NOUNS = {"pup": "pup", "rocket": "rocket", "spaceship": "rocket", "moon": "moon"}
# words the grammar knows only inside these phrases
_ONLY_IN = {"on": "on the ground", "ground": "on the ground", "next": "next to", "close": "close to",
            "far": "far from", "from": "far from"}
_RELATION_WORDS = {"inside", "beside", "near", "close", "far", "from", "left", "right", "flying", "standing",
                   "on", "ground", "next"}
_ADJECTIVES = {"a", "an", "the", "blue", *ROCKET_COLOURS, *MOON_PHASES}
VOCABULARY = sorted(_FILLER | set(_NOUNS) | _RELATION_WORDS
                    | set(ROCKET_COLOURS) | set(MOON_PHASES))


def parse(text: str) -> dict[str, bool | str | None]:
    """The facts a sentence states (keys ``FACTS``; None: not said). Raises ``ValueError`` naming the
    words it does not know, or a relation whose objects the sentence does not name."""
    words = re.findall(r"[a-z]+", text.lower())
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown or not words:
        raise ValueError(f"cannot read {text!r}: unknown words {unknown}; the scene grammar knows: "
                         f"{', '.join(VOCABULARY)} (e.g. {CHALLENGE_PROMPTS[0]!r})")
    out: dict = dict.fromkeys(FACTS)
    nouns = [(i, _NOUNS[w]) for i, w in enumerate(words) if w in _NOUNS]
    for o in OBJECTS:
        out[o] = any(n == o for _, n in nouns)
    for i, w in enumerate(words[1:], 1):
        if w == "rocket" and words[i - 1] in ROCKET_COLOURS:
            out["colour"] = words[i - 1]
        if w == "moon" and words[i - 1] in MOON_PHASES:
            out["phase"] = words[i - 1]
    text = " ".join(words)

    for w, phrase in _ONLY_IN.items():
        if w in words and text.count(f" {w} ") + text.startswith(f"{w} ") + text.endswith(f" {w}") \
                != len(re.findall(rf"\b{phrase}\b", text)):
            raise ValueError(f"cannot read {text!r}: {w!r} is only understood in {phrase!r} "
                             "(the pup sits in or beside the rocket)")
    # each relation phrase: the fact it states, and the objects that may follow it ("it" is not checked)
    phrases = {"sitting in": ("pup_in_rocket", True, {"rocket"}), "riding in": ("pup_in_rocket", True, {"rocket"}),
               "inside": ("pup_in_rocket", True, {"rocket"}), "beside": ("pup_in_rocket", False, {"pup", "rocket"}),
               "next to": ("pup_in_rocket", False, {"pup", "rocket"}), "near": ("rocket_near_moon", True, {"moon"}),
               "close to": ("rocket_near_moon", True, {"moon"}), "far from": ("rocket_near_moon", False, {"moon"}),
               "flying": ("rocket_flying", True, None), "standing": ("rocket_flying", False, None),
               "on the ground": ("rocket_flying", False, None)}
    for phrase, (fact, value, objects) in phrases.items():
        for m in re.finditer(rf"\b{phrase}\b", text):
            j = len(text[:m.end()].split())  # the noun phrase right after it: articles, adjectives, a noun
            while j < len(words) and words[j] in _ADJECTIVES:
                j += 1
            named = _NOUNS.get(words[j]) if j < len(words) else None
            if objects and named and named not in objects:
                raise ValueError(f"cannot read {text!r}: {phrase!r} relates the {' or the '.join(sorted(objects))}, "
                                 f"not the {named} (in the scene grammar the pup sits in or beside the "
                                 "rocket, and the rocket is near or far from the moon)")
            if out[fact] is not None and out[fact] != value:
                raise ValueError(f"cannot read {text!r}: it says {fact.replace('_', ' ')} both ways")
            out[fact] = value
    for m in re.finditer(r"\bto the (left|right) of\b", text):
        before = [n for i, n in nouns if i < len(text[:m.start()].split())]
        after = [n for i, n in nouns if i >= len(text[:m.end()].split())]
        a, b = (before[-1] if before else None), (after[0] if after else None)
        left = m.group(1) == "left"
        if {a, b} == {"pup", "rocket"}:
            out["pup_left_of_rocket"] = left if a == "pup" else not left
            out["pup_in_rocket"] = False
        elif {a, b} == {"rocket", "moon"}:
            out["rocket_left_of_moon"] = left if a == "rocket" else not left
        else:
            raise ValueError(f"cannot read {text!r}: 'to the {m.group(1)} of' needs the pup and the rocket, "
                             "or the rocket and the moon, on either side of it")
    needs = {"pup_in_rocket": ("pup", "rocket"), "rocket_near_moon": ("rocket", "moon"),
             "rocket_flying": ("rocket",)}
    for rel, objs in needs.items():
        if out[rel] is not None and not all(out[o] for o in objs):
            raise ValueError(f"cannot read {text!r}: it says how the {' and the '.join(objs)} are related, "
                             f"but does not name {'them' if len(objs) > 1 else 'it'}")
    return out


# Word swaps that change exactly one relation of a caption (hard negatives for a CLIP, after NegCLIP,
# Yuksekgonul et al. 2023): the same words, one relation said the other way round.
SWAPS = {"pup_in_rocket": (("sitting in", "beside"), ("riding in", "beside"),
                           ("with a blue pup inside", "with a blue pup beside it")),
         "rocket_near_moon": (("near", "far from"),),
         "rocket_flying": (("flying", "standing"),),
         "left_right": (("to the left of", "to the right of"),)}


def swap_relation(text: str, relation: str) -> str | None:
    """``text`` with one relation said the other way round ("sitting in" <-> "beside", "near" <->
    "far from", "flying" <-> "standing", "left" <-> "right"), or None when the caption does not say it."""
    for a, b in SWAPS[relation]:
        for old, new in ((a, b), (b, a)):
            if re.search(rf"\b{old}\b", text):
                return re.sub(rf"\b{old}\b", new, text, count=1)
    return None


def satisfies(wanted: dict, scene_facts: dict) -> bool:
    """Do a scene's facts (``facts(labels)``) agree with everything a sentence says (``parse``)?"""
    return all(v is None or scene_facts.get(k) == v for k, v in wanted.items())


assert set(RELATIONS) <= set(FACTS)
