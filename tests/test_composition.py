"""The challenge re-run's scoring (composition.py): intervals, the best scale, and the judge's composition
score on real scenes, whose answers we know."""
import math

import pytest
import torch

from diffusion_course import load_pretrained, scenes
from diffusion_course.judging import scoreboard
from diffusion_course.lessons import composition

MAIN, BESIDE = scenes.CHALLENGE_PROMPTS[0], scenes.CHALLENGE_PROMPTS[1]


@pytest.fixture(scope="module")
def judge():
    return load_pretrained("judge", "cpu")


def test_the_interval_is_the_normal_approximation():
    assert scoreboard.interval(0.5, 100) == pytest.approx(1.96 * 0.05)
    assert scoreboard.interval(0.0, 128) == 0 and scoreboard.interval(1.0, 128) == 0
    assert scoreboard.interval(0.9, 128) == pytest.approx(1.96 * math.sqrt(0.09 / 128))


def test_best_picks_the_scale_with_the_highest_mean_composition_that_keeps_the_diversity_floor():
    def cell(prompt, scale, c, team="Team CNN", diversity=1.0):
        return composition.Score(team, "m", prompt, "cfg", scale, 10, c, 0.0, 1.0, diversity)

    scores = [cell(MAIN, 1.0, 0.2), cell(BESIDE, 1.0, 0.9), cell(MAIN, 3.0, 0.6), cell(BESIDE, 3.0, 0.7),
              cell(MAIN, 5.0, 0.9, diversity=0.9), cell(BESIDE, 5.0, 0.9, diversity=0.6),  # mean diversity 0.75
              cell(MAIN, 1.0, 0.1, "Team Transformers")]
    best = composition.best(scores)
    assert best["Team CNN"]["scale"] == 3.0 and best["Team CNN"]["composition"] == pytest.approx(0.65)
    assert best["Team CNN"]["keeps_floor"] and best["Team CNN"]["worst_prompt"] == MAIN
    assert best["Team Transformers"]["composition"] == 0.1
    loose = composition.best(scores, floor=0.7)  # a lower floor lets the loudest scale in
    assert loose["Team CNN"]["scale"] == 5.0 and loose["Team CNN"]["diversity"] == pytest.approx(0.75)
    strict = composition.best(scores, floor=1.5)  # no scale keeps it: the best of all, and it says so
    assert strict["Team CNN"]["scale"] == 5.0 and not strict["Team CNN"]["keeps_floor"]


def test_real_scenes_of_a_prompt_compose_and_those_of_another_mostly_do_not(judge):
    ref = composition.Reference(judge, 64)
    x, _ = scenes.sample_for(MAIN, 64, seed=7)
    right = composition.score(judge, x, MAIN, ref)
    assert right["composition"] >= 0.85 and right["recognisable"] >= 0.9
    assert 0.75 <= right["diversity"] <= 1.3  # real scenes of the same prompt are as varied as the reference
    beside, _ = scenes.sample_for(BESIDE, 64, seed=7)
    assert composition.score(judge, beside, MAIN, ref)["composition"] <= 0.1  # the pup beside is not "in"
    wrong, said = composition.failures(judge, beside, MAIN)
    assert len(wrong) == len(said) >= 48 and all("pup beside" in s for s in said[:10])
    same = torch.cat([x[:1]] * 64)  # one picture 64 times: no variety at all
    assert composition.score(judge, same, MAIN, ref)["diversity"] < 0.05


def test_a_sweep_scores_every_cell_from_the_same_dust(judge):
    from diffusion_course.words import clip

    seen = []
    scores = composition.sweep(judge, clip.load(), {"clip": (0.0, 30.0)}, prompts=[BESIDE], n=4, steps=3,
                               teams={"Team CNN": {"clip": "unet-scenes"}, "Nobody": {"clip": "not-shipped"}},
                               progress=seen.append)
    assert [(s.team, s.kind, s.scale) for s in scores] == [("Team CNN", "clip", 0.0), ("Team CNN", "clip", 30.0)]
    assert seen == scores and all(s.n == 4 and 0 <= s.composition <= 1 for s in scores)
    with pytest.raises(ValueError, match="unknown kind of guidance"):
        composition.guide_for("louder", 1.0, MAIN, None)
