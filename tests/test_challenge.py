"""Notebook 05's race: the verdict never claims a winner the numbers do not show."""
import pytest
import torch

from diffusion_course import scenes
from diffusion_course.lessons import challenge
from diffusion_course.lessons.challenge import Leg, Score

A, B = "Team CNN (unet-small)", "Team Transformers (dit-small)"


def leg(rate_a: float, rate_b: float, n: int = 64, objects: tuple[float, float] = (0.9, 0.9), real: float = 0.9) -> Leg:
    return Leg("equal steps", (Score(A, 150, 5e12, rate_a, objects[0], n), Score(B, 150, 1e12, rate_b, objects[1], n)),
               real)


def ahead(text: str, teams=(A, B)) -> list[str]:
    return [team for team in teams if f"{team} is ahead" in text]


def expected_leader(l: Leg) -> str | None:
    """The test's own reading of the numbers: a lead over 2 pooled standard errors, not near zero."""
    a, b = sorted(l.scores, key=lambda s: s.recognisable, reverse=True)
    p = (a.recognisable * a.n + b.recognisable * b.n) / (a.n + b.n)
    noise = 2 * (p * (1 - p) * (1 / a.n + 1 / b.n)) ** 0.5
    return a.team if a.recognisable >= 0.1 and a.recognisable - b.recognisable > noise else None


def test_a_clear_lead_names_the_leader():
    assert ahead(challenge.verdict([leg(0.60, 0.10)])) == [A]
    assert ahead(challenge.verdict([leg(0.05, 0.45)])) == [B]


def test_a_lead_within_the_noise_names_no_winner():
    text = challenge.verdict([leg(0.30, 0.25)])
    assert ahead(text) == [] and "within the noise" in text


def test_both_near_zero_says_neither_draws_scenes():
    for a, b in ((0.0, 0.0), (0.06, 0.0)):
        text = challenge.verdict([leg(a, b)])
        assert ahead(text) == [] and "neither team draws recognisable scenes" in text


def test_a_score_of_empty_skies_is_called_out():
    text = challenge.verdict([leg(0.20, 0.70, objects=(0.95, 0.40))])
    assert ahead(text) == [B] and "near-empty skies" in text and f"{B}'s drawings" in text
    assert "near-empty skies" not in challenge.verdict([leg(0.20, 0.70)])


def test_one_sentence_per_leg_and_two_teams_only():
    assert len(challenge.verdict([leg(0.6, 0.1), leg(0.1, 0.6)]).splitlines()) == 2
    three = Leg("equal steps", leg(0.5, 0.1).scores * 2, 0.9)
    with pytest.raises(ValueError, match="two teams"):
        challenge.verdict([three])


def test_equal_flops_gives_the_cheaper_team_more_steps():
    plan = challenge.budgets({"a": 30.0, "b": 6.0}, steps=10)
    assert plan == {"equal steps": {"a": 10, "b": 10}, "equal FLOPs": {"a": 10, "b": 50}}


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and two threads on a busy 2-core machine spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("cnn", ["unet-tiny", "latent-unet-tiny"])  # on pixels, and in the sketchbook
def test_a_tiny_real_race_agrees_with_its_verdict(one_thread, cnn):
    teams = {cnn: ("Team CNN", 3e-3), "dit-tiny": ("Team Transformers", 1e-3)}
    race = challenge.run(steps=2, n=4, teams=teams, batch_size=4, sampling_steps=2,
                         pool=scenes.ScenePool(32, seed=0, progress=False), real=16, progress=False)
    assert [l.budget for l in race.legs] == ["equal steps", "equal FLOPs"]
    flops = race.flops_per_step
    cheap = min(flops, key=flops.get)
    for l in race.legs:
        assert {s.team for s in l.scores} == {f"Team CNN ({cnn})", "Team Transformers (dit-tiny)"}
        for s in l.scores:
            assert 0 <= s.recognisable <= 1 and 0 <= s.with_object <= 1 and s.n == 4
            assert race.drawings[l.budget, s.team].shape == (4, 3, 32, 32)
    equal_flops = {s.team: s for s in race.legs[1].scores}
    assert equal_flops[f"{teams[cheap][0]} ({cheap})"].steps > 2
    spent = [s.flops for s in equal_flops.values()]
    assert max(spent) / min(spent) < 1.5  # about the same FLOPs (steps are whole numbers)
    names = [s.team for s in race.legs[0].scores]
    for l, line in zip(race.legs, challenge.verdict(race).splitlines()):
        lead = expected_leader(l)
        assert ahead(line, names) == ([] if lead is None else [lead])
        assert (lead is None) == ("within the noise" in line or "neither team" in line)
