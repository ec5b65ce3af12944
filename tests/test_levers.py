"""The levers table (levers.py): recipes sized to a budget, what a lever's step costs, and the table's best lever.
The table itself is measured by the quick bench (tests/test_bench.py)."""
import pytest

from diffusion_course.bench import report_lessons
from diffusion_course.diffusion import cost
from diffusion_course.lessons import budgets, levers


def test_a_sized_recipe_spends_the_budget_and_warms_up_for_a_tenth_of_it_at_most():
    recipe = levers.LEVERS["latent, patch 1"].recipe
    cfg = budgets.sized(recipe, 34.1e9, 100.0)
    assert cfg.steps == budgets.steps_for(100.0, 34.1e9) and cfg.warmup == min(recipe.warmup, cfg.steps // 10)
    assert budgets.sized(recipe, 1e12, 10.0).warmup == 1  # 10 steps: a warm-up of one


def test_masking_halves_a_latent_dits_step_alignment_adds_to_it_and_the_masked_tail_is_paid_for():
    lever = levers.LEVERS["tiny + masking"]
    plain, masked, aligned = (cost.step_flops(levers.TINY, levers.LEVERS[name].recipe)
                              for name in ("tiny", "tiny + masking", "tiny + alignment"))
    assert 0.3 < masked / plain < 0.75 and aligned > plain
    cfg = lever.sized(0.01)  # a recipe ending with an unmasked fifth of its steps spends at least its budget
    spent = budgets.spending(levers.TINY, cfg)
    assert cfg.mask_until == int(0.8 * cfg.steps) and spent(cfg.steps) >= 0.01e12 > spent(cfg.steps - 2)
    assert spent(cfg.mask_until + 1) - spent(cfg.mask_until) == pytest.approx(plain)  # a tail step: unmasked
    assert budgets.first_step(spent, 0.01) <= cfg.steps


def _row(rates: dict, yardstick: bool = False) -> dict:
    return {"yardstick": yardstick, "says": "", "parameters": 1e6, "gflop_per_step": 1.0, "batch": 64,
            "points": [{"budget": b, "tflop": b, "recognisable_rate": r, "train_seconds": 1.0}
                       for b, r in rates.items()]}


def test_the_best_lever_is_read_at_the_largest_budget_and_the_yardstick_is_not_a_lever():
    table = {"world": 2, "budgets": [25.0, 100.0], "probe_images": 8, "probe_steps": 5, "judge": 2,
             "rows": {"a": _row({25.0: 0.9, 100.0: 0.5}), "b": _row({25.0: 0.1, 100.0: 0.6}),
                      "cnn": _row({25.0: 0.9, 100.0: 0.99}, yardstick=True)}}
    assert levers.best(table) == ("b", 0.6) and levers.best(table, 25.0) == ("a", 0.9)
    md = "\n".join(report_lessons.levers_markdown(table))
    assert all(f"| {name} |" in md for name in table["rows"]) and "Best lever at 100 TFLOP: b, 60 %" in md
    assert "skipped (no judge)" in "\n".join(report_lessons.levers_markdown({"skipped": "no judge"}))


def test_an_unknown_lever_is_named():
    with pytest.raises(KeyError, match="unknown levers"):
        levers.measure(("warp drive",), judge=None)
