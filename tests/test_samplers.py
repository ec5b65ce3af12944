"""Samplers against the papers' equations, written out independently, and oracle denoisers."""
import math

import pytest
import torch

from diffusion_course import build, schedules
from diffusion_course.diffusion.samplers import denoise, sample, sample_many, sample_steps


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
                                              ("ddim", 20, 1.0), ("dpm++2m", 20, 0.0)])
def test_oracle_single_point_lands_on_the_data(sampler, steps, eta):
    s = schedules.cosine(1000)
    a = torch.linspace(-0.8, 0.8, 48).view(1, 3, 4, 4)
    x = run(sampler, Oracle(s, a, two_points=False), s, steps, eta, n=8)[-1].x_prev
    assert torch.allclose(x, a.expand_as(x), atol=1e-3)


@pytest.mark.parametrize("sampler,steps,eta", [("ddpm", 100, 0.0), ("ddim", 50, 0.0), ("ddim", 50, 1.0),
                                              ("dpm++2m", 20, 0.0)])
def test_oracle_two_points_lands_on_both(sampler, steps, eta):
    s = schedules.cosine(1000)
    a = torch.full((1, 3, 4, 4), 0.5)
    x = run(sampler, Oracle(s, a), s, steps, eta, n=400)[-1].x_prev
    dist = torch.minimum((x - a).flatten(1).norm(dim=1), (x + a).flatten(1).norm(dim=1))
    assert dist.max() < 0.05
    plus = ((x - a).flatten(1).norm(dim=1) < 0.05).float().mean().item()
    assert 0.4 < plus < 0.6  # both modes, in fair shares


# ----------------------------------------------------------------------------- DPM-Solver++(2M)

def keep_corner(x, t_prev):
    """A ``keep`` hook: one known pixel, put back at every step but the last."""
    if t_prev >= 0:
        x = x.clone()
        x[:, :, 0, 0] = 0.1
    return x


@pytest.mark.parametrize("clip,keep", [(False, None), (True, None), (False, keep_corner)])
def test_dpmpp_2m_step_is_lu_et_al_algorithm_2(clip, keep):
    s = schedules.linear(1000)  # (cosine's alpha_bar at t = 999 is 2e-9: x0_hat is then float32's noise)
    steps = 10
    g = torch.Generator().manual_seed(0)
    x_T = torch.randn(4, 3, 4, 4, generator=g)
    recs = list(denoise(ToyModel(), x_T, s, steps, "dpm++2m", 0.0, g, clip_x0=clip, keep=keep))
    ts = s.subsequence(steps)
    x, last = x_T.double(), None  # last: (x0_hat, lambda) of the step before
    for i, rec in enumerate(recs):
        t = ts[i]
        a_t = s.alpha_bar[t].item()
        a_p = s.alpha_bar[ts[i + 1]].item() if i + 1 < steps else 1.0
        eps = 0.3 * x + math.sin(t / 100)  # ToyModel, in float64
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        if clip:
            x0 = x0.clamp(-1, 1)
        alpha_t, sigma_t, alpha_p, sigma_p = math.sqrt(a_t), math.sqrt(1 - a_t), math.sqrt(a_p), math.sqrt(1 - a_p)
        lam_t = math.log(alpha_t / sigma_t)
        if i + 1 < steps:
            h = math.log(alpha_p / sigma_p) - lam_t
            if last is None:  # first step: first order
                D = x0
            else:
                r = (lam_t - last[1]) / h
                D = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * last[0]
            x = sigma_p / sigma_t * x - alpha_p * (math.exp(-h) - 1) * D
        else:  # the last step, to sigma = 0 (h = inf): first order, x = x0_hat
            x = x0
        if keep is not None:
            x = keep(x, ts[i + 1] if i + 1 < steps else -1)
        last = (x0, lam_t)
        assert rec.sigma == 0.0
        assert torch.allclose(rec.x0_hat.double(), x0, rtol=1e-5, atol=1e-4), i  # unclipped at t = 999: ~100
        assert torch.allclose(rec.x_prev.double(), x, rtol=1e-5, atol=1e-4), i
    assert torch.equal(recs[-1].x_prev, recs[-1].x0_hat)


@pytest.mark.parametrize("clip", [False, True])
def test_dpmpp_2m_is_ddim_eta0_where_it_is_first_order(clip):
    s = schedules.cosine(1000)
    dpm = run("dpm++2m", ToyModel(), s, 10, clip=clip)
    ddim = run("ddim", ToyModel(), s, 10, clip=clip)
    assert torch.allclose(dpm[0].x_prev, ddim[0].x_prev, atol=1e-5)  # the first step
    assert not torch.allclose(dpm[1].x_prev, ddim[1].x_prev, atol=1e-3)  # the second is second order
    # started mid-run there is no x0_hat before: first order again
    k = 4
    forked = list(denoise(ToyModel(), dpm[k].x_t, s, 10, "dpm++2m", clip_x0=clip, start=k))
    ddim_k = list(denoise(ToyModel(), dpm[k].x_t, s, 10, "ddim", 0.0, clip_x0=clip, start=k))
    assert forked[0].i == k and torch.equal(forked[0].x_t, dpm[k].x_t)
    assert torch.allclose(forked[0].x_prev, ddim_k[0].x_prev, atol=1e-5)
    assert not torch.allclose(forked[0].x_prev, dpm[k].x_prev, atol=1e-3)


def test_dpmpp_2m_calls_the_guide():
    class Doubled(ToyModel):
        def forward(self, x, t):
            return 2 * super().forward(x, t)

    def guide(model, x, t, extras):
        extras["seen"] = x.clone()
        return 2 * model(x, t)

    s = schedules.cosine(1000)
    x_T = torch.randn(2, 3, 4, 4)
    guided = list(denoise(ToyModel(), x_T, s, 8, "dpm++2m", guide=guide))
    plain = list(denoise(Doubled(), x_T, s, 8, "dpm++2m"))
    for a, b in zip(guided, plain):
        assert torch.equal(a.x_prev, b.x_prev) and torch.equal(a.extras["seen"], a.x_t)


def test_dpmpp_2m_is_reproducible_finite_and_ignores_eta():
    from diffusion_course.looking.trace import annotate

    model = build("unet-tiny")
    recs = list(sample_steps(model, 2, steps=5, sampler="dpm++2m", seed=3))
    assert [r.t_prev for r in recs][-1] == -1 and all(r.sigma == 0.0 for r in recs)
    assert all(torch.isfinite(getattr(r, k)).all() for r in recs for k in ("eps_hat", "x0_hat", "x_prev"))
    out = sample(model, 2, steps=5, sampler="dpm++2m", seed=3)
    assert torch.equal(out, recs[-1].x_prev.clamp(-1, 1))
    assert torch.equal(out, sample(model, 2, steps=5, sampler="dpm++2m", seed=3, eta=0.0))  # eta: ignored
    assert not torch.equal(out, sample(model, 2, steps=5, sampler="dpm++2m", seed=4))
    assert torch.equal(sample_many(model, 2, steps=5, sampler="dpm++2m", seed=3, batch=2), out)
    trace = annotate(model, 2, steps=5, sampler="dpm++2m", seed=3, taps=[])
    assert torch.equal(trace.final.clamp(-1, 1), out)


class GaussianOracle(torch.nn.Module):
    """The exact eps_hat = E[eps | x_t] for data x0 ~ N(mu, s^2 I): x_t = alpha_t x0 + sigma_t eps, so
    eps_hat = sigma_t (x_t - alpha_t mu) / (alpha_bar_t s^2 + 1 - alpha_bar_t)."""

    def __init__(self, schedule, mu, s):
        super().__init__()
        self.ab, self.mu, self.s = schedule.alpha_bar, mu, s

    def forward(self, x, t):
        ab = self.ab[t].view(-1, 1, 1, 1)
        return ((1 - ab).sqrt() * (x - ab.sqrt() * self.mu) / (ab * self.s ** 2 + 1 - ab)).float()


def test_dpmpp_2m_in_10_steps_beats_ddim_on_gaussian_data():
    """The probability-flow ODE of Gaussian data is exact in closed form: each pixel's standardised value
    u = (x_t - alpha_t mu) / sqrt(alpha_bar_t s^2 + 1 - alpha_bar_t) stays the same from t = T-1 to 0.

    Measured (cosine, mu = 0.3, s = 0.5): the means all land on mu (the ODE is linear, no solver biases
    them), so the std tells the solvers apart. 10 steps: DDIM 0.426, DPM-Solver++ 0.475; 50 steps of DDIM
    0.484; 20 of DPM-Solver++ 0.498. DPM-Solver++'s 10 steps are short of DDIM's 50 only through the last
    step, which returns x0_hat = E[x0 | x_99], whose std is 0.474: on the way, at t = 99, it is 5x nearer
    the exact ODE than DDIM with 50 steps."""
    s, mu, sd = schedules.cosine(1000), 0.3, 0.5
    oracle = GaussianOracle(s, mu, sd)
    runs = {(name, steps): run(name, oracle, s, steps, n=2000, shape=(1, 4, 4))
            for name, steps in [("ddim", 10), ("ddim", 50), ("dpm++2m", 10), ("dpm++2m", 20)]}
    ab = s.alpha_bar
    u = (runs["ddim", 10][0].x_t.double() - ab[999].sqrt() * mu) / (ab[999] * sd ** 2 + 1 - ab[999]).sqrt()

    def std_error(name, steps):
        return abs(runs[name, steps][-1].x_prev.double().std().item() - sd)

    def ode_error_at_99(name, steps):
        x = next(r.x_t for r in runs[name, steps] if r.t == 99).double()
        return (x - (ab[99].sqrt() * mu + (ab[99] * sd ** 2 + 1 - ab[99]).sqrt() * u)).abs().max().item()

    for recs in runs.values():
        assert recs[-1].x_prev.mean().item() == pytest.approx(mu, abs=0.01)
    assert std_error("dpm++2m", 10) < std_error("ddim", 10) / 2
    assert std_error("dpm++2m", 20) < std_error("ddim", 50) / 2
    assert ode_error_at_99("dpm++2m", 10) < ode_error_at_99("ddim", 50) / 3


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
    from diffusion_course.diffusion.samplers import sample_many
    from diffusion_course.looking.trace import annotate

    model = build("unet-tiny")
    args = {"n": 2, "steps": 5, "eta": 1.0} | kwargs
    for fn in (sample, sample_many, annotate):
        with pytest.raises(ValueError, match=match):
            fn(model, args["n"], steps=args["steps"], eta=args["eta"])
    with pytest.raises(ValueError, match=match):
        next(sample_steps(model, args["n"], steps=args["steps"], eta=args["eta"]))


# the reference key, and the shipped weights that drew it (Team CNN's world-1 weights, shipped as unet-scenes then)
REFERENCE_WEIGHTS = {"unet-scenes": "unet-scenes-w1", "dit-scenes": "dit-scenes"}


@pytest.mark.parametrize("name", sorted(REFERENCE_WEIGHTS))
def test_shipped_models_draw_what_they_drew_before_the_restructuring(name):
    """tests/data/reference_samples.safetensors was drawn before the package was reorganised (issue 12):
    the same seed must still give the same pictures from the same weights (``REFERENCE_WEIGHTS``). Bit-identical on
    the machine that made it (AVX-512); on another vector unit the sums run in another order, and after ten steps
    that moves a pixel by up to 0.007 (a DiT on AVX2, mean 1e-5), so: every pixel within three grey levels and the
    mean within 1e-4 (a real change moves the mean by far more)."""
    from pathlib import Path

    from safetensors.torch import load_file

    from diffusion_course import load_pretrained

    ref = load_file(Path(__file__).parent / "data" / "reference_samples.safetensors")
    model = load_pretrained(REFERENCE_WEIGHTS[name], "cpu")
    for key, kw in {"ddim_eta1": dict(steps=10), "ddim_eta0": dict(steps=10, eta=0.0),
                    "ddpm": dict(steps=10, sampler="ddpm")}.items():
        diff = (sample(model, 2, seed=3, **kw) - ref[f"{name}.{key}"]).abs()
        assert diff.max() <= 3 * 2 / 255, f"{key}: a pixel moved by {diff.max():.4f}"
        assert diff.mean() <= 1e-4, f"{key}: the pictures moved by {diff.mean():.2e} on average"
