"""The scoreboard of the challenge re-run (notebook 08): arithmetic on its cells, with no model in sight.

A cell is one team, prompt, kind of guidance and scale (``composition.Score`` as a dict, or a cell of ``bench``'s
words results). A rate over n drawings comes with the half-width of its 95 % interval, +-1.96 sqrt(p (1 - p) / n)
(the normal approximation: fine for the >= 64 drawings the bench uses, rough at 16). ``by_scale`` averages a
team's cells over the prompts at each scale (the trade-off curves and ``composition.best`` read it);
``compare_teams`` says in one line which team composes better, and only when the gap beats the noise.
"""
from __future__ import annotations

import math

Z95 = 1.96
# the goal's floor on variety: a scale is a fair pick only if its drawings keep this share of real scenes' diversity
DIVERSITY_FLOOR = 0.8


def interval(p: float, n: int) -> float:
    """Half-width of the 95 % normal-approximation interval of a rate ``p`` over ``n`` drawings."""
    return Z95 * math.sqrt(max(p * (1 - p), 0.0) / n) if n else float("nan")


def by_scale(scores: list[dict], team: str, kind: str) -> dict[float, dict]:
    """One team's cells of one kind of guidance (``composition.as_dicts``, or ``bench`` results' ``words["scores"]``),
    averaged over the prompts at each scale: composition (with the 95 % half-width of that mean),
    recognisable, diversity."""
    cells = {}
    for s in scores:
        if s["team"] == team and s["kind"] == kind:
            cells.setdefault(s["scale"], []).append(s)
    out = {}
    for scale, cs in sorted(cells.items()):
        mean = {k: sum(c[k] for c in cs) / len(cs) for k in ("composition", "recognisable", "diversity")}
        mean["composition_ci"] = math.sqrt(sum(c["composition_ci"] ** 2 for c in cs)) / len(cs)
        out[scale] = mean
    return out


def compare_teams(words: dict, kind: str = "cfg") -> str:
    """The verdict of ``bench``'s words results on one kind of guidance, in one line: each team at its own best
    scale (``best`` or ``best_clip``), the difference in mean composition against its 95 % noise, and sentence
    by sentence, which team is ahead by more than the noise of that cell."""
    best = words.get("best" if kind == "cfg" else "best_clip", {})
    if len(best) < 2:
        return f"{kind.upper()}: only {', '.join(best) or 'no team'} in the benchmark; nothing to compare"
    (a, best_a), (b, best_b) = list(best.items())[:2]
    cell = {(c["team"], c["prompt"]): c for c in words["scores"]
            if c["kind"] == kind and c["team"] in best and c["scale"] == best[c["team"]]["scale"]}
    ahead = {a: 0, b: 0, "neither": 0}
    for prompt in dict.fromkeys(p for _, p in cell):
        ca, cb = cell.get((a, prompt)), cell.get((b, prompt))
        if ca is None or cb is None:
            continue
        d, noise = cb["composition"] - ca["composition"], math.hypot(ca["composition_ci"], cb["composition_ci"])
        ahead[b if d > noise else a if -d > noise else "neither"] += 1
    ci = [by_scale(words["scores"], t, kind)[best[t]["scale"]]["composition_ci"] for t in (a, b)]
    gap, noise = best_b["composition"] - best_a["composition"], math.hypot(*ci)
    who = f"{b} composes better" if gap > noise else f"{a} composes better" if -gap > noise else "no clear winner"
    return (f"{kind.upper()}: {a} {best_a['composition']:.0%} (scale {best_a['scale']:g}), {b} "
            f"{best_b['composition']:.0%} (scale {best_b['scale']:g}): a difference of {gap:+.0%} against noise of "
            f"±{noise:.0%}, {who}. Sentence by sentence, ahead by more than the noise: {a} on {ahead[a]}, {b} on "
            f"{ahead[b]}, neither on {ahead['neither']}.")
