"""Benchmarks, the reporting half: ``bench/RESULTS.md`` written from a results dict (``bench.load_results()``);
nothing here is measured. This module holds the page and its first tables (speed as a fraction of the matmul
peak, the unconditional denoisers' quality, the judge against the eye, Team CNN vs Team Transformers); the sections
on words and on the lessons' experiments are in ``report_words`` and ``report_lessons``, the goals it states in
``goals``.
"""
from __future__ import annotations

from . import report_lessons, report_words
from .goals import GOAL_GROUPS, goal_line

# the results sections after the quality table, in the page's order, each with its renderer
PAGE_SECTIONS = (("clip", report_words.clip_markdown), ("words", report_words.words_markdown),
                 ("showing", report_lessons.showing_markdown), ("sketchbook", report_lessons.sketchbook_markdown),
                 ("stepping", report_lessons.stepping_markdown), ("drawing", report_lessons.drawing_markdown),
                 ("collapse", report_lessons.collapse_markdown), ("budgets", report_lessons.budgets_markdown),
                 ("levers", report_lessons.levers_markdown), ("live", report_lessons.live_markdown))


def markdown(r: dict) -> str:
    """RESULTS.md from a ``bench`` results dict."""
    lines = ["# Benchmark results", "",
             f"{r['date']} · {r['machine']} · {r['threads']} threads{' · quick' if r['quick'] else ''}", "",
             *speed_markdown(r), *quality_markdown(r["quality"])]
    for section, render in PAGE_SECTIONS:
        lines += render(r.get(section, {"skipped": "not in these results"}))
    lines += head_to_head_markdown(r["head_to_head"])
    fp32, bf16 = r["training"][0], r["training"][1]
    lines += ["", f"bf16 autocast trains {fp32['seconds_per_step'] / bf16['seconds_per_step']:.2f}x as fast as fp32 "
                  "(ratio within this run).",
              *(goal_line(r, section) for section in GOAL_GROUPS)]
    return "\n".join(lines) + "\n"


def speed_markdown(r: dict) -> list[str]:
    """The speed table: the matmul peaks, training steps, DDIM and annotated DDIM, each as a fraction of peak."""
    lines = ["| what | figure | fraction of peak |", "|---|---|---|",
             f"| matmul peak fp32 | {r['matmul_peak_gflops']['fp32']:.1f} GFLOP/s | 1 |",
             f"| matmul peak bf16 | {r['matmul_peak_gflops']['bf16']:.1f} GFLOP/s | 1 |"]
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
    return lines


def quality_markdown(q: dict) -> list[str]:
    """The shipped unconditional denoisers judged (``bench.quality``), then the judge against the eye."""
    if "skipped" in q:
        return ["", f"Quality: skipped ({q['skipped']})"]
    lines = ["", "Judged by the scene judge (v2: relation heads, re-drawing, harder negatives). "
                 "*With an object*: share of drawings in which the judge sees at least one object "
                 "(real scenes in brackets); an empty starry sky is a real scene, so read it beside "
                 "*recognisable*.", "",
             f"| model (DDIM-{quality_steps(q)}, eta 1) | scene world | images | recognisable | "
             "with an object (real) | Fréchet distance (judge features) | diversity vs real | contents TV | "
             "memorised |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, m in judged(q).items():
        collapsed = " (collapsed)" if m["diversity_collapsed"] else ""
        memorised = m.get("memorisation_memorised_fraction", float("nan"))
        lines.append(f"| {name} | {m.get('scene_world', 1)} | {m['images']} | {m['recognisable_rate']:.0%} | "
                     f"{m['with_objects']:.0%} ({m['with_objects_real']:.0%}) | {m['frechet_distance']:.2f} | "
                     f"{m['diversity_ratio_to_real']:.2f}{collapsed} | {m['coverage_contents_tv']:.2f} | "
                     f"{memorised:.0%} |")
    return lines + eye_markdown(q.get("eye_calibration", {"skipped": "not measured"}))


def quality_steps(q: dict) -> int:
    """The DDIM steps the quality table's drawings took (50 where a results file predates the field)."""
    return next((m.get("steps", 50) for m in judged(q).values()), 50)


def judged(q: dict) -> dict[str, dict]:
    """The quality section's rows, one per denoiser (not the eye calibration, nor a re-measure's date and machine)."""
    return {name: m for name, m in q.items() if isinstance(m, dict) and "recognisable_rate" in m}


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
        now = h.get("judge", 1)
        older = any(row[k].get("judge") not in (None, now) for row in h["equal_budget"] for k in ready)
        read = (f"the final models read by today's judge v{now}, the probes during training by the judge of their "
                "day, marked †: a † figure is not comparable with an unmarked one" if older else
                f"every probe, during training and of the final models, read by judge v{now}")
        lines += ["", f"At an equal training budget (quality read off each card's probe curve; {read}):", "",
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
