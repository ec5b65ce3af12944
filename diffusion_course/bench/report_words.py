"""RESULTS.md's sections on words: the tiny CLIP's table, and drawing from words (classifier-free guidance's
cost, the challenge re-run per team, prompt, kind of guidance and scale, each team's best scale), from the
results of ``bench.words``.
"""
from __future__ import annotations

from ..judging.scoreboard import best_spans, compare_relations, compare_teams, span
from ..lessons.composition import SKETCHBOOK_PAIR


def clip_markdown(c: dict) -> list[str]:
    """The tiny CLIP's table (clip.py), on held-out scenes."""
    if "skipped" in c:
        return ["", f"Tiny CLIP: skipped ({c['skipped']})"]
    rel = ", ".join(f"{k} {v:.0%}" for k, v in c["relation_pairs_by_kind"].items() if k != "all")
    return ["", f"Tiny CLIP (data/clip-scenes, {c['parameters']:,} parameters), {c['images']} held-out scenes:", "",
            "| metric | figure |", "|---|---|",
            f"| top-1 among {c['group']}, image→text | {c['image_to_text']:.1%} |",
            f"| top-1 among {c['group']}, text→image | {c['text_to_image']:.1%} |",
            f"| relation pairs (same words, one relation changed) | {c['relation_pairs']:.1%} ({rel}) |",
            f"| top-1 image→text on the shipped U-Net's x̂₀ at t = 500 | {c['x0_hat_image_to_text']:.1%} |",
            f"| training (its card, {c['train_machine']}) | {c['train_minutes']:.1f} min, {c['train_steps']} steps |"]


def words_markdown(w: dict) -> list[str]:
    """Drawing from words: classifier-free guidance's cost and the challenge re-run (composition.py)."""
    if "skipped" in w:
        return ["", f"Drawing from words: skipped ({w['skipped']})"]
    c = w["cfg_cost"]
    lines = ["", f"Drawing from words ({w['n']} drawings per cell, {w.get('clip_n', w['n'])} with CLIP guidance, "
                 f"DDIM-{w['steps']}, the same seeds for every cell; composition: the judge reads everything the "
                 "prompt says, with its 95 % Wilson interval; diversity: ratio to real scenes that satisfy the "
                 "prompt). "
                 "Classifier-free guidance costs "
                 f"{c['ratio']:.2f}x a plain conditional sample ({c['cfg_seconds']:.2f} s vs "
                 f"{c['plain_seconds']:.2f} s, DDIM-{c['steps']}, {c['images']} images, unet-words).", "",
             "| prompt (real scenes' composition) | team | guidance | scale | composition | recognisable | diversity |",
             "|---|---|---|---|---|---|---|"]
    for s in w["scores"]:
        lines.append(f"| {s['prompt']} ({w['real'].get(s['prompt'], float('nan')):.0%}) | {s['team']} ({s['model']}) | "
                     f"{s['kind']} | {s['scale']:g} | {span(s['composition'], s['n'])} | "
                     f"{s['recognisable']:.0%} | {s['diversity']:.2f} |")
    for name, key, kind in (("classifier-free", "best", "cfg"), ("CLIP", "best_clip", "clip")):
        for team, b in w[key].items():
            composed, among = best_spans(w["scores"], team, kind, b)
            lines.append(f"\n{team}, {name} guidance, best scale {b['scale']:g}: composition {composed} "
                         f"over the prompts it drew (worst: {b['worst_composition']:.0%} on {b['worst_prompt']!r}), "
                         f"{among} among its recognisable drawings, recognisable "
                         f"{b['recognisable']:.0%}, diversity {b['diversity']:.2f}.")
    pairs = [None, *([SKETCHBOOK_PAIR] if set(SKETCHBOOK_PAIR) <= set(w["best"]) else [])]
    lines += ["", *(compare_teams(w, teams=pair) for pair in pairs)]
    if any("relations" in s for s in w["scores"]):  # (results measured before relations were read lack them)
        for pair in pairs:
            a, b = pair or list(w["best"])[:2]
            lines += ["", f"Relation by relation, {a} against {b}, each at its best classifier-free scale (a rate: "
                          "the share of drawings, over the prompts that state the relation, that are recognisable "
                          "and show it as said):", "", *(f"- {line}" for line in compare_relations(w, teams=pair))]
    lines += [f"\n{rows}: measured later, {how}." for rows, how in w.get("rows_measured_later", {}).items()]
    return lines
