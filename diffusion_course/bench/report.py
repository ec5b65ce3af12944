"""Benchmarks, the reporting half: the goals, and ``bench/RESULTS.md`` written from a results dict.

``GOALS`` is the one table of speed and memory goals: ``bench`` checks its measurements against
it and this module states them, so a goal is written once. Everything here reads a results dict
(``bench.load_results()``), nothing is measured.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..judging.scoreboard import DIVERSITY_FLOOR


@dataclass(frozen=True)
class Goal:
    """One goal: ``results[section][key]`` must be at most (or at least) ``limit``."""

    section: str
    key: str
    limit: float
    at_most: bool  # True: the figure must not exceed the limit; False: it must reach it
    unit: str  # how the limit reads, a format for it: "{:g} s" says 4.0 as "4 s"

    @property
    def says(self) -> str:
        """The goal in words, e.g. "<= 4 s"."""
        return f"{'<=' if self.at_most else '>='} {self.unit.format(self.limit)}"

    def met(self, results: dict) -> bool:
        value = results[self.section][self.key]
        if value is None:  # not reached (e.g. a training curve that never got there)
            return False
        return value <= self.limit if self.at_most else value >= self.limit


# DDIM-50 of 16 images with the shipped unet-scenes; the annotated run records its default taps
GOALS = {
    "ddim_seconds": Goal("sampling", "seconds", 4.0, True, "{:g} s"),
    "ddim_fraction": Goal("sampling", "fraction_of_fp32_peak", 0.30, False, "{:.0%} of fp32 peak"),
    "annotation_time": Goal("annotation", "time_ratio", 1.3, True, "{:g}x time"),
    "annotation_memory": Goal("annotation", "trace_mb", 100.0, True, "{:g} MB"),
    # the tiny CLIP on held-out scenes (clip.py)
    "clip_image_to_text": Goal("clip", "image_to_text", 0.95, False, "{:.0%} image→text"),
    "clip_text_to_image": Goal("clip", "text_to_image", 0.95, False, "{:.0%} text→image"),
    "clip_relations": Goal("clip", "relation_pairs", 0.90, False, "{:.0%} on relation pairs"),
    "clip_x0_hat": Goal("clip", "x0_hat_image_to_text", 0.80, False, "{:.0%} on x̂₀ at t = 500"),
    "clip_train_minutes": Goal("clip", "train_minutes", 10.0, True, "{:g} min of training"),
    # drawing from words (composition.py): classifier-free guidance's cost, the best team at its best scale
    "cfg_cost": Goal("words", "cfg_ratio", 2.05, True, "{:g}x an unguided step"),
    "composition": Goal("words", "best_composition", 0.90, False, "{:.0%} composition (best team, best scale)"),
    "composition_diversity": Goal("words", "best_diversity", DIVERSITY_FLOOR, False, "{:g} of real scenes' diversity"),
    # the latent sketchbook (sketching.py): the shipped autoencoder's reconstructions, the latent model's
    # recognisable rate below the pixel U-Net's (points), and its training time to 90 % as a share of the pixel one's
    "sketchbook_reconstruction": Goal("sketchbook", "autoencoder_recognisable", 0.98, False,
                                      "{:.0%} of reconstructions recognisable"),
    "sketchbook_quality": Goal("sketchbook", "recognisable_gap_points", 5.0, True,
                               "{:g} points below the pixel U-Net"),
    # fewer steps (stepping.py): DPM-Solver++(2M) in 10 model evaluations against DDIM-50's recognisable rate
    "stepping_quality": Goal("stepping", "fast_share_of_baseline", 0.95, False,
                             "{:.0%} of DDIM-50's recognisable rate in 10 model evaluations (the best sampler)"),
    # training faster: ahead of the pixel recipe at equal training time, on the same scenes (the 90 % times,
    # where both curves reach 90 %, are reported beside it)
    "sketchbook_training": Goal("sketchbook", "equal_time_gap_points", 0.0, False,
                                "{:g} points ahead of the pixel U-Net at equal training time"),
    # time to quality (budgets.py): training compute until 90 % of the drawings are recognisable, each team's
    # fast preset from scratch; the DiT at least the U-Net's rate at every budget both were read at
    "budgets_unet": Goal("budgets", "unet_tflop_to_target", 12.0, True, "{:g} TFLOP to 90 % recognisable (Team CNN)"),
    "budgets_dit": Goal("budgets", "dit_tflop_to_target", 100.0, True,
                        "{:g} TFLOP to 90 % recognisable (Team Transformers)"),
    "budgets_dit_vs_unet": Goal("budgets", "dit_minus_unet_points", 0.0, False,
                                "{:g} points from Team Transformers to Team CNN at equal training FLOPs"),
}
# the goals of each results section, read together
GOAL_GROUPS = {"sampling": ("ddim_seconds", "ddim_fraction"), "annotation": ("annotation_time", "annotation_memory"),
               "clip": ("clip_image_to_text", "clip_text_to_image", "clip_relations", "clip_x0_hat",
                        "clip_train_minutes"),
               "words": ("cfg_cost", "composition", "composition_diversity"),
               "sketchbook": ("sketchbook_reconstruction", "sketchbook_quality", "sketchbook_training"),
               "stepping": ("stepping_quality",),
               "budgets": ("budgets_unet", "budgets_dit", "budgets_dit_vs_unet")}
GOAL_TITLES = {"sampling": "DDIM goal", "annotation": "Annotation goal", "clip": "Tiny CLIP goal",
               "words": "Drawing-from-words goal", "sketchbook": "Latent sketchbook goal",
               "stepping": "Fewer-steps goal", "budgets": "Time-to-quality goal"}


def goal_line(r: dict, section: str) -> str:
    """One section's goals and whether this run met them, e.g. "DDIM goal (<= 4 s and ...): met."."""
    if "skipped" in r.get(section, {"skipped": "not measured"}):
        return f"{GOAL_TITLES[section]}: not measured ({r.get(section, {}).get('skipped', 'not in these results')})."
    names = GOAL_GROUPS[section]
    met = all(GOALS[n].met(r) for n in names)
    return f"{GOAL_TITLES[section]} ({' and '.join(GOALS[n].says for n in names)}): {'met' if met else 'not met'}."


def quality_steps(q: dict) -> int:
    """The DDIM steps the quality table's drawings took (50 where a results file predates the field)."""
    return next((m.get("steps", 50) for name, m in q.items() if name != "eye_calibration"), 50)


def markdown(r: dict) -> str:
    """RESULTS.md from a ``bench`` results dict."""
    lines = [
        "# Benchmark results",
        "",
        f"{r['date']} · {r['machine']} · {r['threads']} threads{' · quick' if r['quick'] else ''}",
        "",
        "| what | figure | fraction of peak |",
        "|---|---|---|",
        f"| matmul peak fp32 | {r['matmul_peak_gflops']['fp32']:.1f} GFLOP/s | 1 |",
        f"| matmul peak bf16 | {r['matmul_peak_gflops']['bf16']:.1f} GFLOP/s | 1 |",
    ]
    for tr in r["training"]:
        lines.append(f"| training {tr['preset']} batch {tr['batch']}, {tr['precision']} | "
                     f"{tr['steps_per_second']:.2f} steps/s ({tr['gflops']:.1f} GFLOP/s) | "
                     f"{tr['fraction_of_peak']:.0%} |")
    s = r["sampling"]
    lines.append(f"| DDIM-{s['steps']}, {s['images']} images ({s['model']}) | {s['seconds']:.2f} s "
                 f"({s['gflops']:.1f} GFLOP/s) | {s['fraction_of_fp32_peak']:.0%} of fp32 |")
    a = r["annotation"]
    lines.append(f"| annotated DDIM-{a['steps']}, {a['images']} images, taps {', '.join(a['taps'])} | "
                 f"{a['annotated_seconds']:.2f} s = {a['time_ratio']:.2f}x plain; trace {a['trace_mb']:.1f} MB | |")
    q = r["quality"]
    if "skipped" in q:
        lines += ["", f"Quality: skipped ({q['skipped']})"]
    else:
        lines += ["", "Judged by the scene judge (v2: relation heads, re-drawing, harder negatives). "
                      "*With an object*: share of drawings in which the judge sees at least one object "
                      "(real scenes in brackets); an empty starry sky is a real scene, so read it beside "
                      "*recognisable*.", "",
                  f"| model (DDIM-{quality_steps(q)}, eta 1) | scene world | images | recognisable | "
                  "with an object (real) | Fréchet distance (judge features) | diversity vs real | contents TV | "
                  "memorised |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, m in q.items():
            if name == "eye_calibration":
                continue
            collapsed = " (collapsed)" if m["diversity_collapsed"] else ""
            memorised = m.get("memorisation_memorised_fraction", float("nan"))
            lines.append(f"| {name} | {m.get('scene_world', 1)} | {m['images']} | {m['recognisable_rate']:.0%} | "
                         f"{m['with_objects']:.0%} ({m['with_objects_real']:.0%}) | {m['frechet_distance']:.2f} | "
                         f"{m['diversity_ratio_to_real']:.2f}{collapsed} | {m['coverage_contents_tv']:.2f} | "
                         f"{memorised:.0%} |")
        lines += eye_markdown(q.get("eye_calibration", {"skipped": "not measured"}))
    lines += clip_markdown(r.get("clip", {"skipped": "not in these results"}))
    lines += words_markdown(r.get("words", {"skipped": "not in these results"}))
    lines += showing_markdown(r.get("showing", {"skipped": "not in these results"}))
    lines += sketchbook_markdown(r.get("sketchbook", {"skipped": "not in these results"}))
    lines += stepping_markdown(r.get("stepping", {"skipped": "not in these results"}))
    lines += drawing_markdown(r.get("drawing", {"skipped": "not in these results"}))
    lines += collapse_markdown(r.get("collapse", {"skipped": "not in these results"}))
    lines += budgets_markdown(r.get("budgets", {"skipped": "not in these results"}))
    lines += head_to_head_markdown(r["head_to_head"])
    fp32, bf16 = r["training"][0], r["training"][1]
    lines += ["", f"bf16 autocast trains {fp32['seconds_per_step'] / bf16['seconds_per_step']:.2f}x as fast as fp32 "
                  "(ratio within this run).",
              *(goal_line(r, section) for section in GOAL_GROUPS)]
    return "\n".join(lines) + "\n"


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
                 "prompt says; ± the 95 % interval; diversity: ratio to real scenes that satisfy the prompt). "
                 "Classifier-free guidance costs "
                 f"{c['ratio']:.2f}x a plain conditional sample ({c['cfg_seconds']:.2f} s vs "
                 f"{c['plain_seconds']:.2f} s, DDIM-{c['steps']}, {c['images']} images, unet-words).", "",
             "| prompt (real scenes' composition) | team | guidance | scale | composition | recognisable | diversity |",
             "|---|---|---|---|---|---|---|"]
    for s in w["scores"]:
        lines.append(f"| {s['prompt']} ({w['real'].get(s['prompt'], float('nan')):.0%}) | {s['team']} ({s['model']}) | "
                     f"{s['kind']} | {s['scale']:g} | {s['composition']:.0%} ± {s['composition_ci']:.0%} | "
                     f"{s['recognisable']:.0%} | {s['diversity']:.2f} |")
    for kind, key in (("classifier-free", "best"), ("CLIP", "best_clip")):
        for team, b in w[key].items():
            lines.append(f"\n{team}, {kind} guidance, best scale {b['scale']:g}: composition {b['composition']:.0%} "
                         f"over the prompts it drew (worst: {b['worst_composition']:.0%} on {b['worst_prompt']!r}), "
                         f"recognisable {b['recognisable']:.0%}, diversity {b['diversity']:.2f}.")
    return lines


def drawing_markdown(d: dict) -> list[str]:
    """Training starts at once: how fast scenes are drawn, and a pool from nothing and from the disk cache."""
    if "skipped" in d:
        return ["", f"Drawing scenes: skipped ({d['skipped']})"]
    return ["", f"Drawing scenes: {d['serial_scenes_per_second']:,.0f} scenes/s in one process, "
                f"{d['parallel_scenes_per_second']:,.0f} scenes/s on {d['cores']} cores; a pool of {d['pool']:,} "
                f"scenes in {d['cold_seconds']:.1f} s from nothing (drawn and kept on disk), "
                f"{d['warm_seconds']:.1f} s read back from the disk cache."]


def budgets_markdown(b: dict) -> list[str]:
    """Time to quality (budgets.py): each preset's recognisable rate at each training budget, the wall time beside."""
    if "skipped" in b:
        return ["", f"Time to quality: skipped ({b['skipped']})"]
    heads = [f"{x:g} TFLOP" for x in b["budgets"]]
    lines = ["", f"Time to quality: each preset trained from scratch on scene world {b['world']} with its recipe, "
                 f"read at each training budget by {b['probe_images']} drawings (DDIM-{b['probe_steps']}, eta 1; "
                 f"judge v{b['judge']}): recognisable, and training seconds in brackets, on "
                 f"{b['machine'] + ' on ' + b['date'] if 'machine' in b else 'this machine'}. A recipe "
                 "that ends before a budget is read at its end (the budget's column, its own TFLOP); one longer than "
                 "the largest budget is cut there. Plot: `budgets.png`.", "",
             "| preset (recipe) | parameters | GFLOP per step (batch) | precision | pool ready (drawn or cached) | "
             + " | ".join(heads) + " |", "|---|---|---|---|---|" + "---|" * len(heads)]
    for name, c in b["curves"].items():
        at = {p["budget"]: p for p in c["points"]}
        cells = [f"{at[x]['recognisable_rate']:.0%} ({at[x]['train_seconds']:.0f} s)" if x in at else ""
                 for x in b["budgets"]]
        lines.append(f"| {name} ({c['recipe']}, {c['recipe_steps']} steps) | {c['parameters'] / 1e6:.2f} M | "
                     f"{c['gflop_per_step']:.1f} ({c['batch']}) | {c['precision']} | "
                     f"{c['pool_scenes']:,} scenes, {c['pool_seconds']:.1f} s | " + " | ".join(cells) + " |")

    def reached(name, tflop):
        if tflop is not None:
            return f"{name} reached {b['target']:.0%} at {tflop:.3g} TFLOP"
        best = max(b["curves"][name]["points"], key=lambda p: p["recognisable_rate"], default=None) \
            if name in b["curves"] else None
        return f"{name} did not reach {b['target']:.0%}" + (
            "" if best is None else f" (best {best['recognisable_rate']:.0%}, at {best['tflop']:.3g} TFLOP)")
    gap = b["dit_minus_unet_points"]
    lines += ["", f"{reached(b['unet'], b['unet_tflop_to_target'])}; {reached(b['dit'], b['dit_tflop_to_target'])}; "
                  + ("no budget was read on both." if gap is None else
                     f"{b['dit']} minus {b['unet']} at equal training FLOPs: {gap:+.0f} points at "
                     f"{b['worst_budget']:g} TFLOP, its worst budget (the goal: at least 0 at every one).")]
    return lines


def collapse_markdown(c: dict) -> list[str]:
    """Everyone draws the same (collapse.py): the three experiments' headline figures."""
    if "skipped" in c:
        return ["", f"Everyone draws the same: skipped ({c['skipped']})"]
    lines = ["", "Everyone draws the same (notebook 06)."]
    t = c["told"]
    if "skipped" in t:
        lines.append(f"Told what to draw: skipped ({t['skipped']})")
    else:
        lines += ["", f"Told what to draw: each model asked for each description {t['images']} times; diversity and "
                      "twins against real scenes that fit the description.", "",
                  "| description | model | recognisable | shows what was asked | diversity vs real | twins |",
                  "|---|---|---|---|---|---|"]
        for row in t["per_prompt"] + [{"prompt": "**mean**", **t["mean"]}]:
            for name in ("template-labels", "unet-labels"):
                m = row[name]
                lines.append(f"| {row['prompt']} | {name} | {m['recognisable']:.0%} | {m['matches']:.0%} | "
                             f"{m['diversity']:.2f} | {m['twins']:.0%} |")
    r = c["race"]
    if "skipped" in r:
        lines += ["", f"A generator that collapses: skipped ({r['skipped']})"]
    else:
        g, d = r["gan"], r["diffusion"]
        lines += ["", f"A generator that collapses: the tiny GAN and {r['diffusion_preset']} after "
                      f"{r['seconds']:.0f} training seconds each (the last probes at or before it, 128 drawings): "
                      f"the GAN {g['recognisable_rate']:.0%} recognisable, diversity {g['diversity']:.2f}, twins "
                      f"{g['twins']:.0%}, contents TV {g['contents_tv']:.2f}; diffusion "
                      f"{d['recognisable_rate']:.0%}, {d['diversity']:.2f}, {d['twins']:.0%}, {d['contents_tv']:.2f}."]
    m = c["memorised"]
    lines += ["", f"Memorisation: {m['images']} drawings of each model against its own training scenes (and their "
                  "mirror images).", "", "| model | training scenes | memorised | median distance / real's |",
              "|---|---|---|---|"]
    for row in m["models"]:
        lines.append(f"| {row['name']} | skipped ({row['skipped']}) | | |" if "skipped" in row else
                     f"| {row['name']} | {row['training_scenes']:,} | {row['memorised_fraction']:.0%} | "
                     f"{row['median_nn_ratio']:.2f} |")
    return lines


def stepping_markdown(s: dict) -> list[str]:
    """Fewer steps (stepping.py): recognisable rate against steps per sampler; the fast sampler against DDIM-50."""
    if "skipped" in s:
        return ["", f"Fewer steps: skipped ({s['skipped']})"]
    steps = [str(k) for k in s["steps"]]
    lines = ["", f"Fewer steps: the judge's recognisable rate of {s['images']} drawings of {s['model']} (seed 0) "
                 "against the number of model evaluations, per sampler.", "",
             "| sampler | " + " | ".join(f"{k} steps" for k in steps) + " |", "|---|" + "---|" * len(steps)]
    for run, curve in s["curves"].items():
        lines.append(f"| {run} | " + " | ".join(f"{curve[k]:.0%}" for k in steps) + " |")
    b, f = s["baseline"], s["fast"]
    lines += ["", f"The best in {f['steps']} steps, {f['run']}: {f['recognisable']:.0%} recognisable, "
                  f"{s['fast_share_of_baseline']:.0%} of {b['run']} in {b['steps']} steps ({b['recognisable']:.0%}); "
                  f"{s['timed_images']} drawings in {s['seconds']['fast']:.2f} s against "
                  f"{s['seconds']['baseline']:.2f} s "
                  f"({s['time_ratio_fast_to_baseline']:.2f}x the time; fastest of each, timed alternately)."]
    bf = s["bf16"]
    lines.append(f"bf16 inference: {bf['skipped']}." if "skipped" in bf else
                 f"bf16 inference ({f['run']}, {f['steps']} steps): {bf['recognisable']:.0%} recognisable "
                 f"({abs(bf['points_below_fp32']):.1f} points {'below' if bf['points_below_fp32'] >= 0 else 'above'} "
                 f"fp32), {bf['time_ratio']:.2f}x fp32's time "
                 f"({bf['seconds']:.2f} s against {bf['fp32_seconds']:.2f} s).")
    return lines


def sketchbook_markdown(s: dict) -> list[str]:
    """The latent sketchbook (sketching.py): autoencoders, then latent vs pixel diffusion side by side."""
    if "autoencoders" not in s:
        return ["", f"Latent sketchbook: skipped ({s['skipped']})"]
    lines = ["", "Latent sketchbook: each autoencoder on held-out scenes (the judge's recognisable rate; the "
                 "baseline shrinks each scene to the latent's grid and enlarges it back, no learning).", "",
             "| autoencoder | latent | numbers per scene | recognisable: real, reconstructed, baseline | "
             "L1 per pixel (baseline) | latent U-Net MFLOP per step | decoder MFLOP | training |",
             "|---|---|---|---|---|---|---|---|"]
    for name, a in s["autoencoders"].items():
        lines.append(f"| {name} | {' x '.join(map(str, a['latent_shape']))} | {a['numbers_per_scene']['latent']} of "
                     f"{a['numbers_per_scene']['image']} | {a['recognisable_real']:.0%}, "
                     f"{a['recognisable_reconstructed']:.0%}, {a['recognisable_shrunk_baseline']:.0%} | "
                     f"{a['l1_per_pixel']:.3f} ({a['l1_per_pixel_shrunk_baseline']:.3f}) | "
                     f"{a['latent_unet_mflop_per_step']:.0f} | {a['decoder_mflop']:.0f} | "
                     f"{a['steps']} steps, {a['train_cpu_minutes']:.0f} CPU min |")
    if "skipped" in s:
        return [*lines, "", f"Latent vs pixel diffusion: skipped ({s['skipped']})"]
    px, lt = "unet-scenes", "latent-unet"
    sec, steps, reach = s["seconds_to_target"], s["steps_to_target"], s["train_seconds_per_step"]
    def to_target(n):
        if sec[n] is None:
            return f"not reached in the {s['curve_steps'][n]} steps probed"
        return f"{sec[n] / 60:.1f} min (step {steps[n]:.0f} x {reach[n]:.3f} s)"

    lines += ["", f"Latent ({lt}, on {s['autoencoder']}) vs pixel ({px}) diffusion, {s['images']} drawings each "
                  f"(DDIM-{s['sampling']['steps']}, eta 1, seed 0); real scenes {s['recognisable_real']:.0%}.", "",
              f"| | {px} | {lt} | latent / pixel |", "|---|---|---|---|",
              f"| parameters | {s['parameters'][px]:,} | {s['parameters'][lt]:,} | |",
              f"| MFLOP per denoising step (one image) | {s['mflop_per_step'][px]:.0f} | {s['mflop_per_step'][lt]:.0f} "
              f"| {s['flop_ratio_latent_to_pixel']:.2f} |",
              f"| {s['sampling']['images']} pictures, DDIM-{s['sampling']['steps']} (decoding included) | "
              f"{s['sampling_seconds'][px]:.2f} s | {s['sampling_seconds'][lt]:.2f} s | "
              f"{s['sampling']['ratio_latent_to_pixel']:.2f} |",
              f"| recognisable (the models learned scene worlds {s['scene_world'][px]} and {s['scene_world'][lt]}) | "
              f"{s['recognisable'][px]:.0%} | {s['recognisable'][lt]:.0%} | "
              f"{-s['recognisable_gap_points']:+.1f} points |",
              f"| training to {s['target']:.0%} recognisable (probe curves on scene worlds "
              f"{s['curve_scene_world'][px]} and {s['curve_scene_world'][lt]}, x a step timed here) | "
              f"{to_target(px)} | {to_target(lt)} | "
              + (f"{s['time_to_target_ratio_latent_to_pixel']:.2f} |" if s["time_to_target_ratio_latent_to_pixel"]
                 is not None else "— |")]
    eq = s["equal_time"]
    if eq["seconds"] is not None:
        lines.append(f"| recognisable after {eq['seconds'] / 60:.1f} min of training (the longest both curves cover) | "
                     f"{eq[px]:.0%} | {eq[lt]:.0%} | {s['equal_time_gap_points']:+.0f} points |")
    ae = s["autoencoders"][s["autoencoder"]]
    lines += ["", f"The latent route also trains its autoencoder once, first: {ae['train_cpu_minutes']:.0f} CPU "
                  f"minutes ({ae['steps']} steps x a step timed in this run). CPU minutes are steps x a step timed "
                  "here, on a quiet machine; the cards' own clocks ran beside other jobs."]
    return lines


def showing_markdown(s: dict) -> list[str]:
    """Showing its work (showing.py): when each team commits, fork disagreement, what the looking costs."""
    if "skipped" in s:
        return ["", f"Showing its work: skipped ({s['skipped']})"]
    teams = list(s["teams"].values())
    facts = teams[0]["commitment"]["facts"]
    lines = ["", f"Showing its work: when the drawing is decided ({s['n']} drawings per team, DDIM-{s['steps']}; the "
                 "judge reads x̂₀ at every step; *committed*: the first step from which x̂₀ agrees with the finished "
                 f"drawing in ≥ {teams[0]['commitment']['share']:.0%} of drawings; step (timestep t)).", "",
             "| fact | " + " | ".join(t["team"] for t in teams) + " |", "|---|" + "---|" * len(teams)]
    for f in facts:
        cells = []
        for t in teams:
            c = t["commitment"]
            cells.append("never" if c["step"][f] is None else f"{c['step'][f]} (t = {c['timestep'][f]})")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    ks = list(teams[0]["forks"])
    lines += ["", f"Fork at step k: {s['continuations']} continuations with fresh noise from the same x_t, "
                  f"{s['fork_n']} drawings; mean per-pixel disagreement (std over continuations, image range 2).", "",
              "| team | " + " | ".join(f"k = {k} (t = {teams[0]['forks'][k]['t']})" for k in ks) + " |",
              "|---|" + "---|" * len(ks)]
    for t in teams:
        lines.append(f"| {t['team']} | " + " | ".join(f"{t['forks'][k]['disagreement']:.3f}" for k in ks) + " |")
    c = s["cost"]
    lines += ["", f"What the looking costs (unet-scenes, {c['model_images']} images, DDIM-{c['steps']}, plain sampling "
                  f"{c['plain_seconds']:.2f} s; each timed alternately with plain sampling, fastest of 2):", "",
              "| recording | steps kept | time vs plain | trace |", "|---|---|---|---|"]
    for kind, k in c["kinds"].items():
        lines.append(f"| every {kind} tap ({k['taps']}), every step | {c['steps']} | {k['time_ratio']:.2f}x | "
                     f"{k['trace_mb']:.1f} MB |")
    for every, k in c["by_stride"].items():
        lines.append(f"| default taps ({', '.join(c['default_taps'])}), every {every} step(s) | "
                     f"{k['recorded_steps']} | "
                     f"{k['time_ratio']:.2f}x | {k['trace_mb']:.1f} MB |")
    per_image = ", ".join(f"{n} image(s): {mb:.1f} MB" for n, mb in c["mb_per_images_all_steps"].items())
    lines += ["", f"Default taps at every step: {per_image}. All {c['all_taps']} taps at every step for "
                  f"{c['model_images']} images would need {c['all_taps_all_steps_mb']:.0f} MB; within the "
                  f"{c['budget_mb']:g} MB budget annotate would keep every {c['budget_stride_all_taps']} step(s)."]
    return lines


def eye_markdown(e: dict) -> list[str]:
    """The judge against the eye-calibration set (calibration.py), per set."""
    if "skipped" in e:
        return ["", f"Eye calibration: skipped ({e['skipped']})"]
    lines = ["", "Eye calibration: 64 drawings per set labelled clean / not clean by looking "
                 "(data/eye-calibration.json); the second half of each set was never used for tuning.", "",
             "| set | eye: clean | judge: recognisable | gap (points) | agree per drawing "
             "| held-back half: eye, judge |",
             "|---|---|---|---|---|---|"]
    for name, row in e.items():
        a, h = row["all"], row["held_back"]
        lines.append(f"| {name} | {a['eye_clean']:.0%} | {a['judge_recognisable']:.0%} | {a['gap_points']:+.1f} | "
                     f"{a['agree']:.0%} | {h['eye_clean']:.0%}, {h['judge_recognisable']:.0%} |")
    return lines


def head_to_head_markdown(h: dict) -> list[str]:
    def pct(v):
        return "not measured" if v is None else f"{v:.0%}"

    lines = ["", "## Team CNN vs Team Transformers", ""]
    ready = {k: t for k, t in h["teams"].items() if "skipped" not in t}
    lines += [f"{t['team']} ({k}): skipped, {t['skipped']}" for k, t in h["teams"].items() if "skipped" in t]
    if not ready:
        return lines
    lines += ["| | " + " | ".join(f"{t['team']} ({k})" for k, t in ready.items()) + " |",
              "|---" * (len(ready) + 1) + "|"]
    for label, fmt in [("parameters", "{parameters:,}"), ("GFLOP per forward (1 image)", "{gflop_per_forward:.2f}"),
                       ("DDIM-50 seconds per image (batch of 16)", "{seconds_per_image:.3f}"),
                       ("training step (s, on this CPU)", "{train_seconds_per_step:.2f} (batch {train_batch})"),
                       ("training GFLOP per step", "{train_gflop_per_step:.0f}"),
                       ("training steps", "{train_steps}"), ("training CPU minutes (steps x step time)",
                                                             "{train_cpu_minutes:.0f}"),
                       ("training PFLOP", "{train_pflop:.2f}")]:
        lines.append(f"| {label} | " + " | ".join(fmt.format(**t) for t in ready.values()) + " |")
    lines.append(f"| recognisable (final model, {h.get('probe_images', 128)} probes, today's judge) | "
                 + " | ".join(pct(t["curve"][-1]["recognisable_rate"])
                                                             for t in ready.values()) + " |")
    if h["equal_budget"]:
        lines += ["", f"At an equal training budget (quality read off each card's probe curve; the final models "
                      f"read by today's judge v{h.get('judge', 1)}, the probes during training by the judge of their "
                      "day, marked †: judge v1 flattered Team Transformers, so a † figure is not comparable with an "
                      "unmarked one):", "",
                  "| budget | " + " | ".join(f"{t['team']}: step, recognisable, Fréchet"
                                         for t in ready.values()) + " |",
                  "|---" * (len(ready) + 1) + "|"]
        for row in h["equal_budget"]:
            cells = []
            for k in ready:
                c = row[k]
                fd = "" if c["frechet_distance"] is None else f", {c['frechet_distance']:.1f}"
                done = " (done)" if c["finished_early"] else ""
                then = c.get("judge") is not None and c["judge"] != h.get("judge", 1)
                cells.append(f"{c['step']}{done}, {pct(c['recognisable_rate'])}{fd}{' †' if then else ''}")
            lines.append(f"| {row['budget']} | " + " | ".join(cells) + " |")
    return lines
