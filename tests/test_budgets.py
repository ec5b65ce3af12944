import dataclasses

import pytest

from diffusion_course.config import TRAIN_PRESETS, TrainConfig
from diffusion_course.diffusion import checkpoints, cost
from diffusion_course.lessons import budgets


def test_steps_for_a_budget_spend_it_and_no_step_less_would():
    per_step = 35.5e9
    for tflop in (3.0, 12.0, 100.0):
        s = budgets.steps_for(tflop, per_step)
        assert s * per_step >= tflop * 1e12 > (s - 1) * per_step
    with pytest.raises(ValueError, match="must be > 0"):
        budgets.steps_for(0, per_step)


def test_a_step_costs_in_proportion_to_its_batch():
    small = cost.step_flops("unet-tiny", TrainConfig(batch_size=4))
    assert small > 0 and cost.step_flops("unet-tiny", TrainConfig(batch_size=8)) == pytest.approx(2 * small)


def _curve(rates: dict) -> dict:
    return {"points": [{"budget": b, "tflop": b * 1.01, "recognisable_rate": r} for b, r in rates.items()]}


def test_goals_read_the_first_budget_reaching_the_target_and_the_worst_gap():
    curves = {"u": _curve({3.0: 0.5, 6.0: 0.92, 12.0: 0.95}), "d": _curve({3.0: 0.6, 6.0: 0.8, 12.0: 0.97, 25.0: 0.99})}
    g = budgets.goals(curves, "u", "d")
    assert g["unet_tflop_to_target"] == pytest.approx(6.06) and g["dit_tflop_to_target"] == pytest.approx(12.12)
    assert g["worst_budget"] == 6.0 and g["dit_minus_unet_points"] == pytest.approx(-12.0)
    never = budgets.goals({"u": _curve({3.0: 0.5}), "d": _curve({25.0: 0.95})}, "u", "d")
    assert never["unet_tflop_to_target"] is None and never["dit_minus_unet_points"] is None  # nothing in common
    short = budgets.goals({"u": {"points": [{"budget": 6.0, "tflop": 4.0, "recognisable_rate": 0.1}]},
                           "d": _curve({6.0: 0.5})}, "u", "d")
    assert short["dit_minus_unet_points"] is None  # a recipe that ended early spent less: not equal FLOPs
    assert budgets.goals({}, "u", "d")["unet_tflop_to_target"] is None


def test_a_curve_is_read_at_each_budget_and_at_a_short_recipes_end():
    judge = checkpoints.load_pretrained("judge", "cpu")
    cfg = dataclasses.replace(TRAIN_PRESETS["quick"], steps=30, pool_size=256, warmup=5)
    per_step = cost.step_flops("unet-tiny", cfg)
    wanted = (9.5 * per_step / 1e12, 19.5 * per_step / 1e12, 40 * per_step / 1e12)  # steps 10, 20; past the end
    c = budgets.curve("unet-tiny", cfg, judge, wanted, probe_images=4, probe_steps=2)
    assert [p["step"] for p in c["points"]] == [10, 20, 30]  # the last reading is the recipe's end, within 1 TFLOP
    assert [p["budget"] for p in c["points"]] == list(wanted)
    for p in c["points"]:
        assert p["tflop"] == pytest.approx(p["step"] * per_step / 1e12) and 0 <= p["recognisable_rate"] <= 1
    assert c["points"][0]["train_seconds"] < c["points"][-1]["train_seconds"]


@pytest.mark.parametrize("name", ["unet-fast", "dit-fast"])
def test_the_fast_recipes_are_sized_to_the_largest_budget(name):
    cfg = TRAIN_PRESETS[name]
    per_step = cost.step_flops(name, cfg)
    assert cfg.steps == pytest.approx(budgets.steps_for(max(budgets.BUDGETS), per_step), rel=0.01)  # ~100 TFLOP
