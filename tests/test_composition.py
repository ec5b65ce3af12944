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


def test_the_wilson_interval_is_wide_where_the_evidence_is_thin_and_stays_in_0_1():
    z2 = 1.96 ** 2
    low, high = scoreboard.wilson(0.0, 32)  # 0 of 32 is not "0 % +- 0 %": the closed form z^2 / (n + z^2)
    assert low == 0 and high == pytest.approx(z2 / (32 + z2))
    assert scoreboard.wilson(1.0, 32) == pytest.approx((32 / (32 + z2), 1.0))
    low, high = scoreboard.wilson(0.5, 100)  # symmetric about 1/2, a little narrower than the normal approximation
    assert (low + high) / 2 == pytest.approx(0.5) and 0 < high - 0.5 < 1.96 * 0.05
    low, high = scoreboard.wilson(0.9, 128)  # pulled toward 1/2: more room below than above
    assert low < 0.9 < high and 0.9 - low > high - 0.9
    for k in range(0, 33, 4):  # the rates a two-sided score test at 5 % would not reject end exactly at the bounds
        for bound in scoreboard.wilson(k / 32, 32):
            if 0 < bound < 1:
                assert abs(k / 32 - bound) / math.sqrt(bound * (1 - bound) / 32) == pytest.approx(1.96)
    assert scoreboard.span(0.0, 32) == "0 % (0–11 %)"


def test_a_gap_counts_when_its_newcombe_interval_leaves_out_zero():
    low, high = scoreboard.difference(0.5, 64, 0.55, 64)  # 5 points over 64 drawings each: noise
    assert low < 0 < high and low < 0.05 < high
    low, high = scoreboard.difference(0.5, 4096, 0.55, 4096)  # the same 5 points over 4096 each: real
    assert 0 < low < 0.05 < high
    assert scoreboard.difference(0.3, 50, 0.3, 50)[0] == pytest.approx(-scoreboard.difference(0.3, 50, 0.3, 50)[1])


def test_composition_among_the_recognisable_is_the_plain_rate_over_the_recognisable_share():
    share, n = scoreboard.among_recognisable({"n": 128, "composition": 0.25, "recognisable": 0.5})
    assert n == 64 and share == pytest.approx(0.5)
    assert math.isnan(scoreboard.among_recognisable({"n": 32, "composition": 0.0, "recognisable": 0.0})[0])


def test_best_picks_the_scale_with_the_highest_mean_composition_that_keeps_the_diversity_floor():
    def cell(prompt, scale, c, team="Team CNN", diversity=1.0):
        return composition.Score(team, "m", prompt, "cfg", scale, 10, c, 1.0, diversity)

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
    # relation by relation: the pup beside its rocket fails "sitting in" and still flies near the moon as asked
    wrong_pup = composition.score(judge, beside, MAIN, ref)["relations"]
    assert set(wrong_pup) == {"pup_in_rocket", "rocket_near_moon", "rocket_flying"} == set(right["relations"])
    assert wrong_pup["pup_in_rocket"] <= 0.1 and wrong_pup["rocket_near_moon"] >= 0.8
    assert min(right["relations"].values()) >= right["composition"]  # each relation alone is at least as common


def test_relations_are_compared_each_team_at_its_best_scale_and_only_beyond_the_noise():
    def cell(team, scale, near, pup, n=128):
        return {"team": team, "kind": "cfg", "scale": scale, "n": n, "prompt": MAIN,
                "relations": {"rocket_near_moon": near, "pup_in_rocket": pup}}

    words = {"best": {"Team CNN": {"scale": 3.0}, "Team Transformers": {"scale": 5.0}},
             "scores": [cell("Team CNN", 3.0, 0.6, 0.9), cell("Team CNN", 5.0, 0.1, 0.1),
                        cell("Team Transformers", 5.0, 0.9, 0.88), cell("Team Transformers", 3.0, 0.0, 0.0)]}
    assert scoreboard.relation_rate(words["scores"], "Team CNN", "cfg", 3.0, scoreboard.WHOLE_PICTURE) == (0.6, 128)
    whole, near, pup = scoreboard.compare_relations(words)[:3]
    assert whole.startswith("the whole picture") and "Team Transformers is ahead" in whole and "+30 points" in whole
    assert near.startswith("near or far") and "Team Transformers is ahead" in near
    assert pup.startswith("the pup in or beside") and "no clear winner" in pup  # 90 vs 88 % of 128: noise
    assert len(scoreboard.compare_relations(words)) == 3  # relations no prompt states are left out
    assert "nothing to compare" in scoreboard.compare_relations({"best": {}, "scores": []})[0]


def test_a_latent_model_is_steered_by_the_clip_through_its_painter():
    """CLIP guidance on a model that draws latents: the CLIP reads the painted guess, and the drawings come out as
    pictures, the same as the unguided ones at scale 0."""
    from diffusion_course import build, config
    from diffusion_course.words import clip

    model = build(config.preset("latent-unet-tiny")).eval()
    steered = composition.draw(model, MAIN, "clip", 30.0, 2, clip.load(), steps=3)
    unguided = composition.draw(model, MAIN, "clip", 0.0, 2, clip.load(), steps=3)
    assert steered.shape == unguided.shape == (2, 3, 32, 32) and not torch.allclose(steered, unguided)
