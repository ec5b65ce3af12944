"""RESULTS.md's sections measured by the lessons' modules (``bench.lessons``): drawing the scene pool, time to
quality, everyone draws the same, fewer steps, the latent sketchbook, showing its work. Each reads a results
section, or says why it was skipped.
"""
from __future__ import annotations

from ..lessons import levers


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
        cells = budget_cells(c["points"], b["budgets"])
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


def budget_cells(points: list[dict], budgets: list[float]) -> list[str]:
    """A training curve's cell at each budget: recognisable, and the training seconds there ("" if not read)."""
    at = {p["budget"]: p for p in points}
    return [f"{at[x]['recognisable_rate']:.0%} ({at[x]['train_seconds']:.0f} s)" if x in at else "" for x in budgets]


def levers_markdown(v: dict) -> list[str]:
    """What makes Team Transformers draw (levers.py): each lever's recognisable rate at each training budget."""
    if "skipped" in v:
        return ["", f"Levers: skipped ({v['skipped']})"]
    lines = ["", f"What makes Team Transformers draw: each lever trained from scratch on scene world {v['world']}, its "
                 f"cosine decay sized to {max(v['budgets']):g} TFLOP, read at each training budget by "
                 f"{v['probe_images']} drawings (DDIM-{v['probe_steps']}, eta 1; judge v{v['judge']}): recognisable, "
                 f"and training seconds in brackets, on {v.get('machine', 'this machine')}.", "",
             "| lever | what it tries | parameters | GFLOP per step (batch) | "
             + " | ".join(f"{x:g} TFLOP" for x in v["budgets"]) + " |",
             "|---|---|---|---|" + "---|" * len(v["budgets"])]
    for name, row in v["rows"].items():
        lines.append(f"| {name} | {row['says']} | {row['parameters'] / 1e6:.2f} M | {row['gflop_per_step']:.1f} "
                     f"({row['batch']}) | " + " | ".join(budget_cells(row["points"], v["budgets"])) + " |")
    top = levers.best(v)
    if top is not None:
        lines += ["", f"Best lever at {max(v['budgets']):g} TFLOP: {top[0]}, {100 * top[1]:.0f} % recognisable."]
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
                 f"drawing in ≥ {teams[0]['commitment']['share']:.0%} of drawings; step (timestep t; the step's 95 % "
                 "bootstrap interval over the drawings)).", "",
             "| fact | " + " | ".join(f"{t['team']} ({name})" for name, t in s["teams"].items()) + " |",
             "|---|" + "---|" * len(teams)]
    for f in facts:
        cells = []
        for t in teams:
            c = t["commitment"]
            low, high = c.get("interval", {}).get(f, (None, None))
            noise = f"; {low}–{high}" if low is not None else ""
            cells.append("never" if c["step"][f] is None else f"{c['step'][f]} (t = {c['timestep'][f]}{noise})")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    if "verdict" in s:
        lines += ["", f"The claim that Team Transformers settles the layout first: {s['verdict']}"]
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


def live_markdown(v: dict) -> list[str]:
    """The learners' live runs (notebooks 02 and 05), as the notebooks run them."""
    if "skipped" in v:
        return ["", f"Live runs: skipped ({v['skipped']})"]
    own = v["02_live"]
    lines = ["", f"Live runs, as the notebooks run them ({v['images']} drawings each, DDIM-{own['sampling_steps']}, "
                 f"eta 1), on {v.get('machine', 'this machine')}: notebook 02's {own['preset']} in the sketchbook, "
                 f"{own['steps']} steps of {own['batch']} trained with the course's loss in "
                 f"{own['train_seconds']:.0f} s ({own['precision']}, the scenes' encoding included), draws "
                 f"{own['recognisable_rate']:.0%} recognisable. Notebook 05's race:", "",
             "| budget | team | steps | training TFLOP | recognisable | with an object |", "|---|---|---|---|---|---|"]
    for budget, teams in v["05_race"].items():
        lines += [f"| {budget} | {team} | {s['steps']} | {s['tflop']:.2f} | {s['recognisable_rate']:.0%} | "
                  f"{s['with_object']:.0%} |" for team, s in teams.items()]
    lead = v["05_race_leader"]
    return [*lines, "", f"The race's leader at equal FLOPs: {lead['team']}, {lead['recognisable_rate']:.0%} "
                        f"({'beyond' if lead['beats_the_noise'] else 'within'} the noise)."]
