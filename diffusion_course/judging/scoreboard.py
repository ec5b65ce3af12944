"""The scoreboard of the challenge re-run (notebook 08): arithmetic on its cells, with no model in sight.

A cell is one team, prompt, kind of guidance and scale (``composition.Score`` as a dict, or a cell of ``bench``'s
words results). A rate k of n drawings comes with its 95 % **Wilson score interval** (``wilson``): unlike
p +- 1.96 sqrt(p (1 - p) / n) it is never narrower than the evidence (0 of 32 is 0-11 %, not 0 % +- 0 %) and
never leaves [0, 1]. The gap between two rates comes with Newcombe's interval built from their two Wilson
intervals (``difference``); a gap is real when that interval leaves out zero. ``by_scale`` averages a team's cells
over the prompts at each scale (the trade-off curves and ``composition.best`` read it); ``compare_teams`` says in
one line which team composes better, and only when the gap beats the noise; ``compare_relations`` does the same
relation by relation (the whole picture's near/far and left/right against the pup's place in its rocket).
"""
from __future__ import annotations

import math

Z95 = 1.96
# the goal's floor on variety: a scale is a fair pick only if its drawings keep this share of real scenes' diversity
DIVERSITY_FLOOR = 0.8


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The 95 % Wilson score interval (low, high) of a rate ``p`` seen in ``n`` drawings (Wilson 1927): the rates
    that a two-sided test at 5 % would not reject. (NaN, NaN) for no drawings."""
    if not n:
        return float("nan"), float("nan")
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(max(p * (1 - p), 0.0) / n + z2n / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(p1: float, n1: int, p2: float, n2: int) -> tuple[float, float]:
    """The 95 % interval (low, high) of the gap ``p2 - p1`` between two independent rates, from their Wilson
    intervals (Newcombe 1998, method 10): zero inside means the gap is within the noise."""
    (l1, u1), (l2, u2), d = wilson(p1, n1), wilson(p2, n2), p2 - p1
    return d - math.hypot(p2 - l2, u1 - p1), d + math.hypot(u2 - p2, p1 - l1)


def leader(low: float, high: float, a: str, b: str) -> str | None:
    """Who is ahead by a gap b - a whose 95 % interval is (``low``, ``high``): ``b`` when it lies above zero, ``a``
    when below, None when zero is inside (the gap is within the noise)."""
    return b if low > 0 else a if high < 0 else None


def span(p: float, n: int) -> str:
    """A rate and its Wilson interval in words, in whole percent: ``"59 % (50-67 %)"``."""
    low, high = wilson(p, n)
    return f"{100 * p:.0f} % ({100 * low:.0f}–{100 * high:.0f} %)"


def among_recognisable(cell: dict) -> tuple[float, int]:
    """Composition among a cell's recognisable drawings, and how many those are: the judge only reads a
    composition in a recognisable drawing, so the plain rate is recognisable x this share."""
    n = round(cell["recognisable"] * cell["n"])
    return (cell["composition"] * cell["n"] / n if n else float("nan")), n


def by_scale(scores: list[dict], team: str, kind: str) -> dict[float, dict]:
    """One team's cells of one kind of guidance (``composition.as_dicts``, or ``bench`` results' ``words["scores"]``),
    averaged over the prompts at each scale: composition, recognisable, diversity, the drawings behind them
    (``n``, all prompts together) and the composition's 95 % Wilson interval (``composition_low``, ``_high``) over
    those drawings (the prompts held fixed, pooling them errs on the wide side)."""
    cells = {}
    for s in scores:
        if s["team"] == team and s["kind"] == kind:
            cells.setdefault(s["scale"], []).append(s)
    out = {}
    for scale, cs in sorted(cells.items()):
        mean = {k: sum(c[k] for c in cs) / len(cs) for k in ("composition", "recognisable", "diversity")}
        mean["n"] = sum(c["n"] for c in cs)
        mean["composition_low"], mean["composition_high"] = wilson(mean["composition"], mean["n"])
        out[scale] = mean
    return out


def best_spans(scores: list[dict], team: str, kind: str, best: dict) -> tuple[str, str]:
    """A team's best scale (a ``composition.best`` row) in words: its composition and its composition among the
    recognisable drawings, each with its Wilson interval over all the prompts' drawings at that scale."""
    n = by_scale(scores, team, kind)[best["scale"]]["n"]
    return span(best["composition"], n), span(*among_recognisable(best | {"n": n}))


def pair(best: dict, teams: tuple[str, str] | None) -> tuple[str, str] | None:
    """The two teams to set side by side: ``teams`` (default: the first two of ``best``), or None where ``best``
    lacks one of them."""
    a, b = teams or (list(best)[:2] if len(best) >= 2 else (None, None))
    return (a, b) if a in best and b in best else None


def compare_teams(words: dict, kind: str = "cfg", teams: tuple[str, str] | None = None) -> str:
    """The verdict of ``bench``'s words results on one kind of guidance, in one line: each of two ``teams``
    (default: the first two) at its own best scale (``best`` or ``best_clip``) with its Wilson interval, the
    difference in mean composition with its 95 % interval (``difference``), and sentence by sentence, which team is
    ahead beyond the noise of that cell."""
    best = words.get("best" if kind == "cfg" else "best_clip", {})
    if (two := pair(best, teams)) is None:
        return f"{kind.upper()}: only {', '.join(best) or 'no team'} in the benchmark; nothing to compare"
    a, b = two
    cell = {(c["team"], c["prompt"]): c for c in words["scores"]
            if c["kind"] == kind and c["team"] in best and c["scale"] == best[c["team"]]["scale"]}
    ahead = {a: 0, b: 0, "neither": 0}
    for prompt in dict.fromkeys(p for _, p in cell):
        ca, cb = cell.get((a, prompt)), cell.get((b, prompt))
        if ca is None or cb is None:
            continue
        low, high = difference(ca["composition"], ca["n"], cb["composition"], cb["n"])
        ahead[leader(low, high, a, b) or "neither"] += 1
    pooled = {t: by_scale(words["scores"], t, kind)[best[t]["scale"]] for t in (a, b)}
    low, high = difference(pooled[a]["composition"], pooled[a]["n"], pooled[b]["composition"], pooled[b]["n"])
    who = f"{winner} composes better" if (winner := leader(low, high, a, b)) else "no clear winner"
    said = {t: f"{span(pooled[t]['composition'], pooled[t]['n'])} at scale {best[t]['scale']:g}" for t in (a, b)}
    gap = pooled[b]["composition"] - pooled[a]["composition"]
    return (f"{kind.upper()}: {a} {said[a]}, {b} {said[b]}: a difference of {100 * gap:+.0f} points (95 % "
            f"interval {100 * low:+.0f} to {100 * high:+.0f}), {who}. Sentence by sentence, ahead beyond the noise: "
            f"{a} on {ahead[a]}, {b} on {ahead[b]}, neither on {ahead['neither']}.")


# the relations a prompt can state, in words; the first two need the whole picture (where the rocket is against a
# moon across the sky), the pup in or beside its rocket is decided in one spot
RELATION_WORDS = {"rocket_near_moon": "near or far from the moon", "rocket_left_of_moon": "left or right of the moon",
                  "pup_in_rocket": "the pup in or beside the rocket",
                  "pup_left_of_rocket": "the pup's side of the rocket", "rocket_flying": "flying or standing"}
WHOLE_PICTURE = ("rocket_near_moon", "rocket_left_of_moon")


def relation_rate(scores: list[dict], team: str, kind: str, scale: float,
                  relations: tuple[str, ...]) -> tuple[float, int]:
    """One team's share of drawings showing ``relations`` as said (``composition.relations_shown``) at one scale,
    pooled over every prompt and stated relation among them, and the number of (drawing, relation) pairs."""
    k = n = 0.0
    for c in scores:
        if c["team"] == team and c["kind"] == kind and c["scale"] == scale:
            for r in relations:
                if r in c.get("relations", {}):
                    k, n = k + c["relations"][r] * c["n"], n + c["n"]
    return (k / n if n else float("nan")), round(n)


def compare_relations(words: dict, groups: dict[str, tuple[str, ...]] | None = None, kind: str = "cfg",
                      teams: tuple[str, str] | None = None) -> list[str]:
    """Each of two ``teams`` (default: the first two) at its own best scale (``best``) on each group of relations
    (default: the whole picture's, then each relation alone): its rate with the Wilson interval, the gap's Newcombe
    interval, and who is ahead beyond the noise. One sentence a group; a group neither team's prompts state is left
    out."""
    best = words.get("best" if kind == "cfg" else "best_clip", {})
    if (two := pair(best, teams)) is None:
        return [f"only {', '.join(best) or 'no team'} in the benchmark; nothing to compare"]
    groups = groups or {"the whole picture (near/far and left/right of the moon)": WHOLE_PICTURE,
                        **{RELATION_WORDS[r]: (r,) for r in RELATION_WORDS}}
    a, b = two
    out = []
    for name, relations in groups.items():
        (pa, na), (pb, nb) = (relation_rate(words["scores"], t, kind, best[t]["scale"], relations) for t in (a, b))
        if not (na and nb):
            continue
        low, high = difference(pa, na, pb, nb)
        who = f"{winner} is ahead" if (winner := leader(low, high, a, b)) else "no clear winner"
        out.append(f"{name}: {a} {span(pa, na)}, {b} {span(pb, nb)}; a gap of {100 * (pb - pa):+.0f} points "
                   f"(95 % interval {100 * low:+.0f} to {100 * high:+.0f}), {who}.")
    return out
