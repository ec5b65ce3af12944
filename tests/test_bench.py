import dataclasses
import json

import pytest
import torch

from diffusion_course import bench, shipped
from diffusion_course.bench import goals, report, report_lessons
from diffusion_course.config import PRESETS, TRAIN_PRESETS
from diffusion_course.diffusion import cost
from diffusion_course.diffusion import cost as cost_mod  # (the quick test names its section cost)
from diffusion_course.lessons import showing, stepping


def test_bench_quick_writes_a_valid_results_file(tmp_path):
    bench.main(quick=True, out=tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    assert r["quick"] is True and r["torch"]
    assert r["matmul_peak_gflops"]["fp32"] > 0 and r["matmul_peak_gflops"]["bf16"] > 0
    assert [t["precision"] for t in r["training"]] == ["fp32", "torch.bfloat16"]
    for t in r["training"]:
        assert t["gflop_per_step"] > 0 and 0 < t["fraction_of_peak"] < 5
    s = r["sampling"]
    assert s["gflop_per_forward"] > 0 and s["seconds"] > 0
    a = r["annotation"]
    assert a["time_ratio"] > 0 and 0 < a["trace_mb"] <= 100
    q = r["quality"]
    assert q["untrained unet-scenes"]["recognisable_rate"] <= 0.1
    assert q["unet-scenes"]["recognisable_rate"] > q["untrained unet-scenes"]["recognisable_rate"] + 0.5
    assert q["unet-scenes"]["steps"] == bench.QUICK.quality_steps != bench.FULL.quality_steps
    teams = r["head_to_head"]["teams"]
    assert set(teams) == set(bench.TEAMS)
    for name, t in teams.items():
        if "skipped" in t:
            continue
        # the team's own training step, counted as the trainer counts it (a latent model's on its sketchbook)
        recipe = dataclasses.replace(TRAIN_PRESETS[name], batch_size=t["train_batch"])
        assert t["train_gflop_per_step"] == pytest.approx(cost_mod.step_flops(PRESETS[name], recipe) / 1e9, rel=1e-3)
        assert t["curve"][-1]["step"] == t["train_steps"]  # the shipped model itself, probed here
        assert t["train_cpu_minutes"] == pytest.approx(t["train_steps"] * t["train_seconds_per_step"] / 60)
        assert t["gflop_per_forward"] > 0 and t["seconds_per_image"] > 0
    for row in r["head_to_head"]["equal_budget"]:
        assert all(row[name]["step"] >= 0 for name in teams)
    md = (tmp_path / "RESULTS.md").read_text()
    assert "matmul peak fp32" in md and "annotated DDIM" in md and "recognisable" in md
    assert f"| model (DDIM-{bench.QUICK.quality_steps}, eta 1) |" in md
    assert "Team CNN vs Team Transformers" in md
    assert bench.load_results(tmp_path / "results.json") == r
    shown = r["showing"]
    assert set(shown["teams"]) == set(showing.TEAMS) and "settles the layout at step" in shown["verdict"]
    for t in shown["teams"].values():
        c = t["commitment"]
        assert c["facts"][-1] == "layout" and len(c["settled"][0]) == len(c["t"]) == r["showing"]["steps"]
        # a fact settled at its committed step stays at or above the share from then on
        for f, s in c["step"].items():
            if s is not None:
                curve = c["settled"][c["facts"].index(f)]
                assert all(v >= c["share"] for v in curve[s:]) and (s == 0 or curve[s - 1] < c["share"])
        assert c["interval"]["layout"][0] <= c["step"]["layout"] <= c["interval"]["layout"][1]
        assert list(t["forks"]) == ["0", "2", "4", "6", "8"]
        assert all(v["disagreement"] >= 0 for v in t["forks"].values())
    cost = shown["cost"]
    assert set(cost["kinds"]) == {"features", "attention"} and cost["all_taps_all_steps_mb"] > 0
    assert cost["by_stride"]["10"]["recorded_steps"] < cost["by_stride"]["1"]["recorded_steps"] == cost["steps"]
    assert "Showing its work" in md and "What the looking costs" in md
    sk = r["sketchbook"]
    for a in sk["autoencoders"].values():  # every shipped autoencoder beats the no-learning baseline
        assert a["l1_per_pixel"] < a["l1_per_pixel_shrunk_baseline"]
        assert a["latent_std"] == pytest.approx(1.0, abs=0.2)
    if "skipped" not in sk:
        assert 0 < sk["flop_ratio_latent_to_pixel"] < 1  # a step in the sketchbook is cheaper
        assert sk["recognisable_gap_points"] == pytest.approx(
            100 * (sk["recognisable"]["unet-scenes"] - sk["recognisable"]["latent-unet"]))
        assert sk["sampling"]["ratio_latent_to_pixel"] > 0 and "Latent sketchbook" in md
    st = r["stepping"]
    assert set(st["curves"]) == set(stepping.RUNS) and all(set(c) == {"5", "10", "50"} for c in st["curves"].values())
    assert st["fast_share_of_baseline"] == pytest.approx(st["fast"]["recognisable"] / st["baseline"]["recognisable"])
    assert "Fewer steps" in md and "Fewer-steps goal" in md
    c = r["collapse"]
    if "skipped" not in c["told"]:  # asked 4 times, the template draws one picture: no diversity, all twins
        t = c["told"]["mean"]
        assert t["template-labels"]["diversity"] == 0 and t["template-labels"]["twins"] == 1
        assert t["unet-labels"]["diversity"] > 0.1
    assert [m["name"] for m in c["memorised"]["models"]] == [f"unet-memo-{k}" for k in (16, 64, 1024)] + ["unet-scenes"]
    assert all(0 <= m["memorised_fraction"] <= 1 for m in c["memorised"]["models"] if "skipped" not in m)
    assert "Everyone draws the same" in md
    d = r["drawing"]
    assert d["serial_scenes_per_second"] > 0 and d["warm_seconds"] < d["cold_seconds"]  # the cache is read back
    assert "Drawing scenes" in md
    b = r["budgets"]  # each run read at each budget: the first step that spends it
    assert set(b["curves"]) == {"unet-tiny", "dit-tiny"} and b["unet"] == "unet-tiny"
    for c in b["curves"].values():
        assert [p["budget"] for p in c["points"]] == b["budgets"]
        for p in c["points"]:  # (or, where the recipe ends first, read at its end, within the budget)
            ends = p["step"] == c["recipe_steps"] and p["tflop"] <= p["budget"]
            assert ends or p["budget"] <= p["tflop"] < p["budget"] + c["gflop_per_step"] / 1e3
    assert "Time to quality" in md and "Time-to-quality goal" in md and (tmp_path / "budgets.png").stat().st_size
    assert "on this machine" in "\n".join(report_lessons.budgets_markdown(r["budgets"]))  # (measured with the rest)
    alone = "\n".join(report_lessons.budgets_markdown({**r["budgets"], "machine": "a CPU (AVX2)",
                                                       "date": "2026-12-06"}))
    assert "on a CPU (AVX2) on 2026-12-06" in alone
    v = r["levers"]  # each lever trained from scratch in the latent world, read at each budget
    assert v["world"] == 2 and list(v["rows"]) == list(bench.QUICK.levers)
    for name, row in v["rows"].items():
        step = row["gflop_per_step"] / 1e3 * (2.2 if "masking" in name else 1)  # (a step of the unmasked tail: ~2x)
        assert row["world"] == 2 and [p["budget"] for p in row["points"]] == v["budgets"]
        for p in row["points"]:  # each reading is at the first step that spends its budget
            assert p["tflop"] >= p["budget"] > p["tflop"] - step and 0 <= p["recognisable_rate"] <= 1
    assert "What makes Team Transformers draw" in md and all(f"| {name} |" in md for name in v["rows"])
    lv = r["live"]  # the notebooks' live runs, at the quick sizes: 02's own run and 05's race, keyed by notebook
    assert lv["02_live"]["steps"] == bench.QUICK.live_steps and lv["02_live"]["preset"] == "latent-unet-live"
    assert lv["02_live_recognisable"] == lv["02_live"]["recognisable_rate"] and lv["images"] == bench.QUICK.live_images
    flops_leg = lv["05_race"]["equal FLOPs"]
    assert lv["05_race_leader_recognisable"] == max(t["recognisable_rate"] for t in flops_leg.values())
    assert lv["05_race_leader"]["team"] in flops_leg and "Live runs" in md and "Live-run goal" in md
    w = r["words"]
    if "skipped" not in w:
        assert w["cfg_cost"]["ratio"] > 0 and w["cfg_ratio"] == w["cfg_cost"]["ratio"]
        assert {(c["kind"], c["scale"]) for c in w["scores"]} == {("cfg", 1.0), ("cfg", 4.0), ("clip", 0.0),
                                                                   ("clip", 30.0)}
        assert all(c["n"] == 8 and 0 <= c["composition"] <= 1 for c in w["scores"])
        assert "Team CNN" in w["best"] and "Drawing from words" in md and "Drawing-from-words goal" in md
        # one section re-measured into the same file; the others are kept as they were
        again = bench.main(quick=True, out=tmp_path, only="words")
        assert again["training"] == r["training"] and again["words"]["date"] and "date" not in w
        assert again["words"]["machine"] == shipped.machine()
        with pytest.raises(ValueError, match="holds quick results"):
            bench.main(quick=False, out=tmp_path, only="words")


def test_curve_reading_interpolates_and_admits_what_was_not_measured():
    curve = [{"step": 0, "q": 0.0}, {"step": 500, "q": 0.5}, {"step": 1000, "q": 0.7}, {"step": 5000, "q": 0.9}]
    assert bench.curve_at(curve, 250, "q") == pytest.approx(0.25)
    assert bench.curve_at(curve, 1000, "q") == pytest.approx(0.7)
    assert bench.curve_at(curve, 5000, "q") == pytest.approx(0.9)
    assert bench.curve_at(curve, 3000, "q") is None  # probes 4000 steps apart: not measured
    assert bench.curve_at(curve, 6000, "q") is None and bench.curve_at([], 10, "q") is None


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m diffusion_course bench"):
        bench.load_results(tmp_path / "nothing.json")


def test_flop_count_of_a_matmul_is_exact():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert cost.count_flops(lambda: a @ b) == 2 * 8 * 16 * 4


def test_goals_are_written_once_and_read_by_checks_and_report():
    r = bench.load_results()  # the shipped full run
    page = report.markdown(r)
    for section, names in goals.GOAL_GROUPS.items():
        assert goals.goal_line(r, section) in page
        for name in names:
            assert goals.GOALS[name].says in goals.goal_line(r, section)
    slow = {**r, "sampling": {**r["sampling"], "seconds": goals.GOALS["ddim_seconds"].limit + 0.01}}
    assert not goals.GOALS["ddim_seconds"].met(slow)  # an at-most goal, just missed
    assert goals.goal_line(slow, "sampling").endswith("not met.")
    weak = {**r, "sampling": {**r["sampling"], "fraction_of_fp32_peak": 0.0}}  # an at-least goal
    assert not goals.GOALS["ddim_fraction"].met(weak)
