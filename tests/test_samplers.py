"""Samplers against the papers' equations, written out independently, and oracle denoisers."""
import math

import pytest
import torch

from diffusion_course import build, schedules
from diffusion_course.samplers import denoise, sample, sample_steps


class ToyModel(torch.nn.Module):
    """A fixed, deterministic 'denoiser': eps_hat = 0.3 x_t + sin(t / 100)."""

    def forward(self, x, t):
        return 0.3 * x + torch.sin(t.float() / 100).view(-1, 1, 1, 1)


class Oracle(torch.nn.Module):
    """The exact eps_hat = E[eps | x_t] for data that is +a or -a with equal odds.

    With one point (``two_points=False``) the data is always +a.
    """

    def __init__(self, schedule, a, two_points=True):
        super().__init__()
        self.ab = schedule.alpha_bar
        self.a, self.two = a, two_points

    def forward(self, x, t):
        ab = self.ab[t].float().view(-1, 1, 1, 1)
        if self.two:
            # p(x0 = +a | x_t) / p(x0 = -a | x_t) = exp(2 sqrt(ab) <x_t, a> / (1 - ab))
            dot = (x * self.a).sum(dim=(1, 2, 3), keepdim=True)
            mean_x0 = self.a * torch.tanh(ab.sqrt() * dot / (1 - ab))
        else:
            mean_x0 = self.a.expand_as(x)
        return (x - ab.sqrt() * mean_x0) / (1 - ab).sqrt()


def run(sampler, model, schedule, steps, eta=0.0, seed=0, n=4, shape=(3, 4, 4), clip=False):
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, *shape, generator=g)
    return list(denoise(model, x_T, schedule, steps, sampler, eta, g, clip_x0=clip))


def test_ddpm_step_is_ho_et_al_eq_11():
    s = schedules.linear(100)
    recs = run("ddpm", ToyModel(), s, None)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 4, 4, generator=g)
    beta, alpha, ab = s.beta.float(), s.alpha.float(), s.alpha_bar.float()
    for rec, t in zip(recs, range(99, -1, -1)):
        eps = ToyModel()(x, torch.full((4,), t))
        # Algorithm 2: x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - ab_t) eps) + sigma_t z
        mean = (x - beta[t] / (1 - ab[t]).sqrt() * eps) / alpha[t].sqrt()
        if t > 0:
            var = beta[t] * (1 - ab[t - 1]) / (1 - ab[t])  # beta-tilde
            x = mean + var.sqrt() * torch.randn(x.shape, generator=g)
        else:
            x = mean
        assert rec.t == t
        assert torch.allclose(rec.x_prev, x, atol=1e-4), t


def test_ddim_step_is_song_et_al_eq_12():
    s = schedules.cosine(1000)
    steps, eta = 20, 0.5
    recs = run("ddim", ToyModel(), s, steps, eta)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 4, 4, generator=g)
    ab = s.alpha_bar
    ts = s.subsequence(steps)
    for i, rec in enumerate(recs):
        t, tp = ts[i], (ts[i + 1] if i + 1 < steps else None)
        a_t = ab[t].item()
        a_p = ab[tp].item() if tp is not None else 1.0
        eps = ToyModel()(x, torch.full((4,), t))
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        sigma = eta * math.sqrt((1 - a_p) / (1 - a_t)) * math.sqrt(1 - a_t / a_p)
        x = math.sqrt(a_p) * x0 + math.sqrt(1 - a_p - sigma ** 2) * eps
        if tp is not None:
            x = x + sigma * torch.randn(x.shape, generator=g)
        assert torch.allclose(rec.x0_hat, x0, atol=1e-4)
        assert torch.allclose(rec.x_prev, x, atol=1e-4), i
        assert rec.sigma == pytest.approx(sigma, abs=1e-7)


def test_ddim_eta0_is_deterministic():
    s = schedules.cosine(1000)
    x_T = torch.randn(3, 3, 4, 4)
    a = list(denoise(ToyModel(), x_T, s, 25, "ddim", 0.0, torch.Generator().manual_seed(1)))[-1].x_prev
    b = list(denoise(ToyModel(), x_T, s, 25, "ddim", 0.0, torch.Generator().manual_seed(2)))[-1].x_prev
    assert torch.equal(a, b)
    c = list(denoise(ToyModel(), x_T, s, 25, "ddim", 1.0, torch.Generator().manual_seed(2)))[-1].x_prev
    assert not torch.allclose(a, c)


def test_ddim_eta1_all_steps_has_ddpm_posterior_variance():
    s = schedules.linear(200)
    ddpm = run("ddpm", ToyModel(), s, None, seed=5)
    ddim = run("ddim", ToyModel(), s, None, eta=1.0, seed=5)
    ab = s.alpha_bar
    for a, b in zip(ddpm, ddim):
        t = a.t
        if t > 0:
            beta_tilde = s.beta[t] * (1 - ab[t - 1]) / (1 - ab[t])
            assert b.sigma ** 2 == pytest.approx(beta_tilde.item(), rel=1e-6)
        assert a.sigma == pytest.approx(b.sigma, rel=1e-6, abs=1e-12)
    # and the means agree too, so with the same noise the whole trajectories coincide
    assert torch.allclose(ddpm[-1].x_prev, ddim[-1].x_prev, atol=1e-4)


@pytest.mark.parametrize("sampler,steps,eta", [("ddpm", None, 0.0), ("ddpm", 50, 0.0), ("ddim", 50, 0.0),
                                              ("ddim", 20, 1.0)])
def test_oracle_single_point_lands_on_the_data(sampler, steps, eta):
    s = schedules.cosine(1000)
    a = torch.linspace(-0.8, 0.8, 48).view(1, 3, 4, 4)
    x = run(sampler, Oracle(s, a, two_points=False), s, steps, eta, n=8)[-1].x_prev
    assert torch.allclose(x, a.expand_as(x), atol=1e-3)


@pytest.mark.parametrize("sampler,steps,eta", [("ddpm", 100, 0.0), ("ddim", 50, 0.0), ("ddim", 50, 1.0)])
def test_oracle_two_points_lands_on_both(sampler, steps, eta):
    s = schedules.cosine(1000)
    a = torch.full((1, 3, 4, 4), 0.5)
    x = run(sampler, Oracle(s, a), s, steps, eta, n=400)[-1].x_prev
    dist = torch.minimum((x - a).flatten(1).norm(dim=1), (x + a).flatten(1).norm(dim=1))
    assert dist.max() < 0.05
    plus = ((x - a).flatten(1).norm(dim=1) < 0.05).float().mean().item()
    assert 0.4 < plus < 0.6  # both modes, in fair shares


def test_records_and_sample_helper():
    from diffusion_course import build

    model = build("unet-tiny")
    recs = list(sample_steps(model, 2, steps=5, seed=3))
    assert [r.i for r in recs] == list(range(5)) and recs[-1].t_prev == -1
    for r in recs:
        assert r.x_t.shape == r.eps_hat.shape == r.x0_hat.shape == r.x_prev.shape == (2, 3, 32, 32)
    out = sample(model, 2, steps=5, seed=3)
    assert torch.equal(out, recs[-1].x_prev.clamp(-1, 1))
    assert torch.equal(out, sample(model, 2, steps=5, seed=3))
    assert not torch.equal(out, sample(model, 2, steps=5, seed=4))


def test_bad_sampler_arguments():
    s = schedules.cosine(10)
    with pytest.raises(ValueError, match="unknown sampler"):
        next(denoise(ToyModel(), torch.zeros(1, 3, 4, 4), s, 5, "euler"))
    with pytest.raises(ValueError, match="eta"):
        next(denoise(ToyModel(), torch.zeros(1, 3, 4, 4), s, 5, "ddim", eta=2.0))
    with pytest.raises(ValueError, match="steps"):
        next(denoise(ToyModel(), torch.zeros(1, 3, 4, 4), s, 50, "ddim"))


# ----------------------------------------------------------------------------- bad input, and no drift

@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0), "n \\(the number of images\\)"), (dict(n=2.5), "whole number"),
    (dict(steps=0), "from 1 to 1000"), (dict(steps=1001), "from 1 to 1000"),
    (dict(eta=-0.1), "eta must be in \\[0, 1\\]"), (dict(eta=1.5), "eta must be in \\[0, 1\\]")])
def test_every_sampling_entry_point_refuses_bad_arguments_at_once(kwargs, match):
    from diffusion_course.samplers import sample_many
    from diffusion_course.trace import annotate

    model = build("unet-tiny")
    args = {"n": 2, "steps": 5, "eta": 1.0} | kwargs
    for fn in (sample, sample_many, annotate):
        with pytest.raises(ValueError, match=match):
            fn(model, args["n"], steps=args["steps"], eta=args["eta"])
    with pytest.raises(ValueError, match=match):
        next(sample_steps(model, args["n"], steps=args["steps"], eta=args["eta"]))


@pytest.mark.parametrize("name", ["unet-scenes", "dit-scenes"])
def test_shipped_models_draw_what_they_drew_before_the_restructuring(name):
    """tests/data/reference_samples.safetensors was drawn before the package was reorganised (issue 12):
    the same seed must still give the same pictures (bit-identical on the machine that made it)."""
    from pathlib import Path

    from safetensors.torch import load_file

    from diffusion_course import load_pretrained

    ref = load_file(Path(__file__).parent / "data" / "reference_samples.safetensors")
    model = load_pretrained(name, "cpu")
    for key, kw in {"ddim_eta1": dict(steps=10), "ddim_eta0": dict(steps=10, eta=0.0),
                    "ddpm": dict(steps=10, sampler="ddpm")}.items():
        torch.testing.assert_close(sample(model, 2, seed=3, **kw), ref[f"{name}.{key}"], atol=1e-4, rtol=0)
