"""The benchmark's goals, written once: ``GOALS`` (speed, memory and quality goals, each a ``Goal`` on one figure
of the results), grouped by results section (``GOAL_GROUPS``). ``check_goals`` writes into measured results
which goals were met; the report states them with ``goal_line``.
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
    # the learners' live runs (live.py, challenge.py), 64 drawings each: what a class sees its own models draw
    "live_02": Goal("live", "02_live_recognisable", 0.5, False, "{:.0%} recognisable after notebook 02's live run"),
    "live_05": Goal("live", "05_race_leader_recognisable", 0.5, False,
                    "{:.0%} recognisable for notebook 05's race leader at equal FLOPs"),
}
# the goals of each results section, read together
GOAL_GROUPS = {"sampling": ("ddim_seconds", "ddim_fraction"), "annotation": ("annotation_time", "annotation_memory"),
               "clip": ("clip_image_to_text", "clip_text_to_image", "clip_relations", "clip_x0_hat",
                        "clip_train_minutes"),
               "words": ("cfg_cost", "composition", "composition_diversity"),
               "sketchbook": ("sketchbook_reconstruction", "sketchbook_quality", "sketchbook_training"),
               "stepping": ("stepping_quality",),
               "budgets": ("budgets_unet", "budgets_dit", "budgets_dit_vs_unet"), "live": ("live_02", "live_05")}
GOAL_TITLES = {"sampling": "DDIM goal", "annotation": "Annotation goal", "clip": "Tiny CLIP goal",
               "words": "Drawing-from-words goal", "sketchbook": "Latent sketchbook goal",
               "stepping": "Fewer-steps goal", "budgets": "Time-to-quality goal", "live": "Live-run goal"}


def goal_line(r: dict, section: str) -> str:
    """One section's goals and whether this run met them, e.g. "DDIM goal (<= 4 s and ...): met."."""
    if "skipped" in r.get(section, {"skipped": "not measured"}):
        return f"{GOAL_TITLES[section]}: not measured ({r.get(section, {}).get('skipped', 'not in these results')})."
    names = GOAL_GROUPS[section]
    met = all(GOALS[n].met(r) for n in names)
    return f"{GOAL_TITLES[section]} ({' and '.join(GOALS[n].says for n in names)}): {'met' if met else 'not met'}."


def check_goals(results: dict) -> dict:
    """Each measured section's goals (``GOALS``) and whether they were met, written into it."""
    for section, names in GOAL_GROUPS.items():
        if section not in results or "skipped" in results[section]:
            continue
        results[section]["goal"] = {name: GOALS[name].limit for name in names} | {
            "met": all(GOALS[name].met(results) for name in names)}
    return results
