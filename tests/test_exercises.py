import pytest
import torch

from diffusion_course import exercises

WRONG = {
    "00.count_rockets": 99,
    "01.q_sample": lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps,  # forgot the square roots
    "01.half_life": (100, 100),
    "01.snr_db": 3.0,
    "02.x0_hat": lambda x, e, ab: x - e,
    "02.ddim_step": lambda x, e, ab, abp: x,
    "03.receptive_field": lambda n, k=3: n * k,
    "03.cell_size": 16,
    "04.tokens": lambda size, patch: size // patch,
    "04.attention": lambda q, k: (q @ k.transpose(-1, -2)).softmax(-1),  # forgot 1 / sqrt(d)
    "05.patch_cost": 4,
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_solution_passes_and_wrong_answer_fails(name, capsys):
    assert exercises.check(name, exercises.solution(name, show=False)) is True
    assert exercises.check(name, WRONG[name]) is False
    assert exercises.check(name, None) is False
    assert "not answered yet" in capsys.readouterr().out


def test_every_exercise_is_covered_here():
    assert set(exercises._CHECKERS) == set(WRONG)


def test_broken_learner_code_is_reported_not_raised(capsys):
    assert exercises.check("02.x0_hat", lambda *a: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="exercises:"):
        exercises.check("99.nope", 1)
