import pytest
import torch

from diffusion_course import TrainConfig, Trainer, exercises
from diffusion_course.exercises import basics, core, denoising, teams
from diffusion_course.scenes import ScenePool

WRONG = {
    "00.count_rockets": 99,
    "00.dequantize": lambda u8: u8 / 255,  # [0, 1], not [-1, 1]
    "01.q_sample": lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps,  # forgot the square roots
    "01.half_life": (100, 100),
    "01.snr_db": 3.0,
    "02.x0_hat": lambda x, e, ab: x - e,
    "02.ddim_step": lambda x, e, ab, abp: x,
    "02.training_loss": lambda model, x0, g: model(x0, torch.zeros(len(x0), dtype=torch.long)).pow(2).mean(),
    "03.receptive_field": lambda n, k=3: n * k,
    "03.unet_receptive_fields": lambda blocks, levels: [3 + 4 * blocks * (level + 1) for level in range(levels)],
    "03.cell_size": 16,
    "04.tokens": lambda size, patch: size // patch,
    "04.attention": lambda q, k: (q @ k.transpose(-1, -2)).softmax(-1),  # forgot 1 / sqrt(d)
    "05.patch_cost": 4,
    "05.equal_flop_steps": lambda steps, a, b: steps * b / a,  # the ratio upside down
    "05.standard_error": lambda p, n: p * (1 - p) / n,  # forgot the square root
    "07.logits": lambda i, t, tau: i @ t.T / tau,  # forgot to normalise
    "07.clip_loss": lambda s, k: torch.nn.functional.cross_entropy(k * s, torch.arange(len(s))),  # one direction
    "07.top1": lambda s: (s.argmax(0) == torch.arange(len(s))).float().mean(),  # the other axis
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_solution_passes_and_wrong_answer_fails(name, capsys):
    assert exercises.check(name, exercises.solution(name, show=False)) is True
    assert exercises.check(name, WRONG[name]) is False
    assert exercises.check(name, None) is False
    assert "not answered yet" in capsys.readouterr().out


def test_every_exercise_is_covered_here():
    assert set(core._CHECKERS) == set(WRONG)


def _variant_loss(**mistake):
    return lambda model, x0, g: denoising._loss_variant(model, x0, g, **mistake)


NAMED_MISTAKES = [  # (exercise, a typical wrong answer, words the checker must use to name it)
    ("07.logits", lambda i, t, tau: i @ t.T / tau, "not normalised"),
    ("07.clip_loss", lambda s, k: torch.nn.functional.cross_entropy(k * s, torch.arange(len(s))), "one direction only"),
    ("00.count_rockets", 16, "every scene"),
    ("00.dequantize", lambda u8: u8 / 255, "[0, 1]"),
    ("00.dequantize", lambda u8: (u8 * 2) / 255 - 1, "overflow"),
    ("01.q_sample", lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps, "square root"),
    ("01.q_sample", lambda x0, t, eps, ab: (1 - ab[t]).sqrt() * x0 + ab[t].sqrt() * eps, "swapped"),
    ("01.half_life", exercises.solution("01.half_life", show=False)[::-1], "swapped"),
    ("01.snr_db", 10 ** (basics._sol_01_snr_db() / 10), "ratio"),  # the SNR itself, not in dB
    ("01.snr_db", 2 * basics._sol_01_snr_db(), "amplitudes"),
    ("02.x0_hat", lambda x, e, ab: (x - (1 - ab).sqrt() * e) / ab, "square root"),
    ("02.x0_hat", lambda x, e, ab: (x + (1 - ab).sqrt() * e) / ab.sqrt(), "sign"),
    ("02.ddim_step", lambda x, e, ab, abp: x, "alpha_bar_prev"),
    ("02.training_loss", _variant_loss(weight="none"), "Min-SNR"),
    ("02.training_loss", _variant_loss(eps_first=True), "drawn before t"),
    ("02.training_loss", _variant_loss(target="x0"), "predicts the dust"),
    ("03.receptive_field", lambda n, k=3: k ** n, "multiplying"),
    ("03.unet_receptive_fields", lambda b, n: teams._unet_fields(b, n, doubling=False), "twice as far"),
    ("03.unet_receptive_fields", lambda b, n: teams._unet_fields(b, n, stem=1), "stem"),
    ("03.cell_size", 16, "side × side"),
]


@pytest.mark.parametrize("name, wrong, words", NAMED_MISTAKES)
def test_typical_mistake_is_named(name, wrong, words, capsys):
    assert exercises.check(name, wrong) is False
    out = capsys.readouterr().out
    assert "it looks like" in out and words in out, out


def test_training_loss_reference_is_the_packages_loss():
    """The 02 checker's reference loss equals ``Trainer.loss`` on the same batch (same t and ε draws)."""
    trainer = Trainer("unet-tiny", TrainConfig(precision="fp32"), pool=ScenePool(8), progress=False, device="cpu")
    x0 = trainer.pool.sample(4, generator=torch.Generator().manual_seed(1))
    trainer.generator = torch.Generator().manual_seed(5)
    ours = exercises.solution("02.training_loss", show=False)(trainer.model, x0, torch.Generator().manual_seed(5))
    assert torch.allclose(ours, trainer.loss(x0), atol=1e-6)


def test_unet_receptive_field_rule_matches_the_model():
    for blocks, levels in [(2, 3), (1, 3), (3, 2)]:
        fields = teams._model_fields(blocks, levels)
        assert teams._unet_fields(blocks, levels) == fields
        assert exercises.solution("03.unet_receptive_fields", show=False)(blocks, levels) == fields
    assert teams._model_fields(2, 3) == [11, 29, 65]  # the shipped U-Net, as notebook 03 says


def test_verify_prints_only_check_lines(capsys):
    assert exercises.verify("01.q_sample", "02.training_loss", "03.cell_size") is True
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("✅") for line in lines), lines
    assert not any("def " in line or "return" in line for line in lines)


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    exercises.verify("02.training_loss", "03.unet_receptive_fields")
    assert torch.equal(torch.rand(3), expected)


def test_broken_learner_code_is_reported_not_raised(capsys):
    assert exercises.check("02.x0_hat", lambda *a: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="exercises:"):
        exercises.check("99.nope", 1)
