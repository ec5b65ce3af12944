"""Exercises of notebook 09 (the latent sketchbook): the KL term of the autoencoder's loss (checked against
``Posterior.kl``, the closed form), the scale factor that gives the latents unit variance (against
``Autoencoder.set_scale``'s rule, recomputed on the case), a walk between two starting dusts along the circle
(spherical interpolation, against its formula), and a drawing dusted in the sketchbook (encoded, dusted by
``q(z_t | z_0)``, painted; against the same steps on an untrained autoencoder)."""
from __future__ import annotations

import torch

from ..config import AutoencoderConfig
from ..models.autoencoder import Autoencoder, Posterior
from ..schedules import cosine
from .core import check_function, exercise

# ----------------------------------------------------------------------------- 09 the KL term


def _sol_09_kl():
    def my_kl(mean, logvar):
        var = logvar.exp()  # sigma^2
        return 0.5 * (mean ** 2 + var - 1 - logvar).sum(dim=(1, 2, 3))  # one number per image
    return my_kl


def _kl_cases():
    g = torch.Generator().manual_seed(9)
    return [(torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)),
            (torch.zeros(3, 4, 2, 2), torch.zeros(3, 4, 2, 2)),  # q is the prior: nothing to pay
            (torch.randn(1, 4, 4, 4, generator=g) * 3, torch.full((1, 4, 4, 4), -6.0))]  # far and sure


@exercise("09.kl", _sol_09_kl)
def _check_09_kl(fn) -> bool:
    def half(m, lv):
        return (m ** 2 + lv.exp() - 1 - lv).sum(dim=(1, 2, 3))

    return check_function(
        "09.kl", fn, lambda m, lv: Posterior(m, lv).kl(), _kl_cases(),
        hint="per latent number 1/2 (mu^2 + sigma^2 - 1 - log sigma^2) with sigma^2 = exp(logvar), summed over "
             "the channels and the grid of each image: one number per image, shape (B,)",
        mistakes={"the 1/2 is missing": half,
                  "a mean over each image's latent numbers instead of their sum":
                      lambda m, lv: 0.5 * (m ** 2 + lv.exp() - 1 - lv).mean(dim=(1, 2, 3)),
                  "logvar used as sigma^2 itself (it is its logarithm: sigma^2 = exp(logvar))":
                      lambda m, lv: 0.5 * (m ** 2 + lv - 1 - lv.clamp(min=1e-8).log()).sum(dim=(1, 2, 3)),
                  "the - 1 is missing (then a posterior equal to the prior would still pay)":
                      lambda m, lv: 0.5 * (m ** 2 + lv.exp() - lv).sum(dim=(1, 2, 3))},
        right="your KL matches the closed form on all 3 cases, including 0 when q is the prior.")


# ----------------------------------------------------------------------------- 09 the scale factor

def _sol_09_scale():
    def my_scale(latents):
        return 1 / latents.std()  # latents * scale then have standard deviation 1
    return my_scale


def _scale_cases():
    g = torch.Generator().manual_seed(19)
    return [(torch.randn(16, 4, 8, 8, generator=g) * 5.5,), (torch.randn(8, 4, 16, 16, generator=g) * 0.2 + 3,),
            (torch.rand(32, 4, 8, 8, generator=g),)]


def _unit_variance_scale(latents: torch.Tensor) -> torch.Tensor:
    """The number that makes ``latents * scale`` have standard deviation 1 (checked, not assumed)."""
    scale = 1 / latents.std()
    assert torch.isclose((latents * scale).std(), torch.tensor(1.0), atol=1e-5)
    return scale


@exercise("09.scale", _sol_09_scale)
def _check_09_scale(fn) -> bool:
    return check_function(
        "09.scale", fn, _unit_variance_scale, _scale_cases(),
        hint="find the number that, multiplied into every latent, makes their standard deviation 1",
        mistakes={"the standard deviation itself, not its inverse (multiplying by it makes the spread larger)":
                      lambda z: z.std(),
                  "one over the variance instead of one over the standard deviation": lambda z: 1 / z.var(),
                  "one over the mean absolute value": lambda z: 1 / z.abs().mean()},
        right="multiplied by your scale, every case's latents have standard deviation 1.")


# ----------------------------------------------------------------------------- 09 a walk through the dust

def _sol_09_walk():
    def my_walk(a, b, stops):
        fa, fb = a.flatten(), b.flatten()
        theta = torch.arccos(fa @ fb / (fa.norm() * fb.norm()))  # the angle between the two dusts
        return torch.stack([(torch.sin((1 - s) * theta) * a + torch.sin(s * theta) * b) / torch.sin(theta)
                            for s in torch.linspace(0, 1, stops)])  # (stops, C, h, w), along the circle
    return my_walk


def _slerp(a: torch.Tensor, b: torch.Tensor, stops: int, ends: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985) from ``a`` to ``b`` at ``stops`` equal steps of the angle."""
    cos = (a.flatten() @ b.flatten() / (a.norm() * b.norm())).clamp(-1, 1)
    theta = torch.arccos(cos)
    return torch.stack([(torch.sin((1 - s) * theta) * a + torch.sin(s * theta) * b) / torch.sin(theta)
                        for s in torch.linspace(*ends, stops)])


def _walk_cases():
    """Pairs of dusts (C, h, w): two of the sketchbook's shape, one of two sizes (the walk keeps neither's size
    fixed, it turns from one to the other), and a small one."""
    g = torch.Generator().manual_seed(29)
    return [(torch.randn(4, 8, 8, generator=g), torch.randn(4, 8, 8, generator=g), 9),
            (torch.randn(4, 8, 8, generator=g), 2 * torch.randn(4, 8, 8, generator=g), 5),
            (torch.randn(3, 2, 2, generator=g), torch.randn(3, 2, 2, generator=g), 3)]


@exercise("09.walk", _sol_09_walk)
def _check_09_walk(fn) -> bool:
    def straight(a, b, stops):
        return torch.stack([torch.lerp(a, b, float(w)) for w in torch.linspace(0, 1, stops)])

    return check_function(
        "09.walk", fn, _slerp, _walk_cases(),
        hint="flatten both dusts, take the angle θ between them (arccos of their dot product over both norms), "
             "and return the stops at s = 0 … 1 in equal steps: (sin((1 − s)θ) a + sin(sθ) b) / sin θ",
        mistakes={"a straight line: halfway, it is a weaker dust than either end; walk on the circle":
                      straight,
                  "the walk runs backwards, from b to a": lambda a, b, s: _slerp(b, a, s),
                  "the last stop is left out (as range() does)": lambda a, b, s: _slerp(a, b, s, (0.0, 1 - 1 / s))},
        right="your walk starts at a, ends at b and turns between them in equal steps of the angle.")


# ----------------------------------------------------------------------------- 09 dust in the sketchbook

def _sol_09_dusty():
    def my_dusty_sketch(encode, decode, schedule, x0, t, noise):
        z0 = encode(x0)  # the clean sketch
        z_t = schedule.q_sample(z0, t, noise)  # dusted in the sketchbook: sqrt(alpha_bar) z0 + sqrt(1 - alpha_bar) eps
        return decode(z_t)  # painted
    return my_dusty_sketch


def _dusty_cases():
    """(encode, decode, schedule, x0, t, noise) on a small untrained autoencoder (what is checked is the order of
    the steps, not the painting), at several steps."""
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the learner's RNG alone
        torch.manual_seed(0)
        ae = Autoencoder(AutoencoderConfig()).eval()
    g = torch.Generator().manual_seed(31)
    x0 = torch.rand(3, *ae.image_shape, generator=g) * 2 - 1
    noise = torch.randn(3, *ae.latent_shape, generator=g)
    schedule = cosine(1000)

    def case(t):
        return lambda: (torch.no_grad()(ae.encode), torch.no_grad()(ae.decode), schedule, x0, torch.tensor(t), noise)
    return [case([100, 500, 900]), case([999, 999, 999]), case([0, 300, 700])]


@exercise("09.dusty_sketch", _sol_09_dusty)
def _check_09_dusty(fn) -> bool:
    return check_function(
        "09.dusty_sketch", fn, _sol_09_dusty(), _dusty_cases(),
        hint="encode the pictures into sketches, dust the sketches with schedule.q_sample(z0, t, noise), then "
             "paint them with decode",
        mistakes={"the clean sketch painted: the dust is missing": lambda e, d, s, x, t, n: d(e(x)),
                  "the dust is added but the sketch is not shrunk by √ᾱ_t (q_sample does both)":
                      lambda e, d, s, x, t, n: d(e(x) + (1 - s.alpha_bar[t]).sqrt()[:, None, None, None].float() * n),
                  "the noise alone painted: the sketch is missing": lambda e, d, s, x, t, n: d(n)},
        right="your sketches are encoded, dusted and painted in that order.")
