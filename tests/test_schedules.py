import math

import pytest
import torch

from diffusion_course import schedules


def test_linear_matches_closed_form():
    s = schedules.linear(1000)
    assert s.beta[0].item() == pytest.approx(1e-4) and s.beta[-1].item() == pytest.approx(0.02)
    beta = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    expected = torch.cumprod(1 - beta, 0)
    assert torch.allclose(s.alpha_bar, expected)
    # log prod (1 - beta) = -sum beta - sum beta^2 / 2 - ... for small beta
    approx = math.exp(-beta.sum().item() - (beta ** 2).sum().item() / 2)
    assert s.alpha_bar[-1].item() == pytest.approx(approx, rel=0.01)


def test_cosine_matches_closed_form():
    T, s_ = 1000, 0.008
    s = schedules.cosine(T)

    def f(t):
        return math.cos((t / T + s_) / (1 + s_) * math.pi / 2) ** 2

    for t in [0, 10, 250, 500, 750, 900]:
        assert s.alpha_bar[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert s.beta.max().item() <= 0.999
    assert (s.beta > 0).all()


def test_cosine_keeps_more_of_the_drawing_in_the_middle():
    lin, cos = schedules.linear(), schedules.cosine()
    assert (cos.alpha_bar[200:900] > lin.alpha_bar[200:900]).all()
    assert torch.all(lin.snr[1:] < lin.snr[:-1]) and torch.all(cos.snr[1:] < cos.snr[:-1])


def test_snr_is_alpha_bar_over_one_minus():
    s = schedules.cosine(100)
    assert torch.allclose(s.snr, s.alpha_bar / (1 - s.alpha_bar))


def test_q_sample_formula_and_moments():
    s = schedules.linear()
    x0 = torch.full((20000, 1, 1, 1), 0.7)
    noise = torch.randn_like(x0)
    for t in [0, 300, 999]:
        xt = s.q_sample(x0, t, noise)
        ab = s.alpha_bar[t].item()
        assert torch.allclose(xt, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * noise, atol=1e-6)
        assert xt.mean().item() == pytest.approx(math.sqrt(ab) * 0.7, abs=0.03)
        assert xt.var().item() == pytest.approx(1 - ab, abs=0.03)


def test_per_image_t():
    s = schedules.cosine()
    x0, noise = torch.ones(3, 3, 4, 4), torch.zeros(3, 3, 4, 4)
    xt = s.q_sample(x0, torch.tensor([0, 500, 999]), noise)
    assert torch.allclose(xt[:, 0, 0, 0], s.alpha_bar[[0, 500, 999]].sqrt().float())


def test_clear_errors():
    s = schedules.cosine(100)
    x0 = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"0\.\.99"):
        s.q_sample(x0, 100, torch.zeros_like(x0))
    with pytest.raises(TypeError, match="integer"):
        s.q_sample(x0, 0.5, torch.zeros_like(x0))
    with pytest.raises(ValueError, match="shape"):
        s.q_sample(x0, 1, torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="batch"):
        s.q_sample(x0, torch.tensor([1, 2, 3]), torch.zeros_like(x0))
    with pytest.raises(ValueError, match="unknown schedule"):
        schedules.get("quadratic")


def test_subsequence():
    s = schedules.cosine(1000)
    ts = s.subsequence(50)
    assert len(ts) == 50 and ts[0] == 999 and ts == sorted(ts, reverse=True) and len(set(ts)) == 50
    assert s.subsequence(1000) == list(range(999, -1, -1))
    with pytest.raises(ValueError):
        s.subsequence(0)


def test_predict_x0_inverts_the_shortcut():
    s = schedules.cosine()
    x0, eps = torch.rand(4, 3, 8, 8) * 2 - 1, torch.randn(4, 3, 8, 8)
    t = torch.tensor([0, 300, 700, 980])
    x_t = s.q_sample(x0, t, eps)
    ab = s.alpha_bar[t].view(-1, 1, 1, 1)
    assert torch.allclose(schedules.predict_x0(x_t, eps, ab), x0, atol=1e-3)


def test_eps_from_v_names_the_noise_that_was_mixed_in():
    s = schedules.cosine()
    x0, eps = torch.rand(4, 3, 8, 8) * 2 - 1, torch.randn(4, 3, 8, 8)
    t = torch.tensor([0, 300, 700, 999])
    ab = s.alpha_bar[t].float().view(-1, 1, 1, 1)
    v = ab.sqrt() * eps - (1 - ab).sqrt() * x0  # Salimans & Ho 2022
    assert torch.allclose(schedules.eps_from_v(s.q_sample(x0, t, eps), v, ab), eps, atol=1e-5)
