"""Exercises of notebook 06 (everyone draws the same): what a template trained with an absolute-error pixel loss
would draw (against the best value at each pixel, found by trying every value that occurs there), the share of twins
among samples (against ``metrics.nearest_other``) and the memorisation flag (against ``memorisation.nearest``)."""
from __future__ import annotations

import torch

from .. import scenes
from ..judging import memorisation, metrics
from .core import check_function, exercise

# ----------------------------------------------------------------------------- 06 the template's picture


def _sol_06_template():
    def my_template(fitting):
        # sum_i |x_i - f| is smallest where as many pictures lie above f as below it: the median, pixel by pixel
        return fitting.median(dim=0).values
    return my_template


def _template_cases():
    """Odd numbers of pictures (with an even number, any value between the two middle ones is as good)."""
    return [(scenes.sample_for("the pup sitting in a rocket flying near the moon", 13, seed=6)[0],),
            (scenes.sample_for("a full moon", 5, seed=7)[0],),
            (torch.randn(3, 3, 4, 4, generator=torch.Generator().manual_seed(8)),)]


def _best_constant(fitting: torch.Tensor) -> torch.Tensor:
    """The picture f with the least summed absolute error |x_i - f| to every picture of ``fitting``, pixel by pixel,
    found by trying every value that occurs there (for the absolute error the best value is one of them), not by
    a formula, which is what the learner is asked for."""
    candidates = fitting.unsqueeze(1)  # (N, 1, C, H, W): each picture's value, tried as f
    cost = (fitting.unsqueeze(0) - candidates).abs().sum(dim=1)  # (N, C, H, W): summed error of each
    return fitting.gather(0, cost.argmin(dim=0, keepdim=True))[0]


@exercise("06.template", _sol_06_template)
def _check_06_template(fn) -> bool:
    return check_function(
        "06.template", fn, _best_constant, _template_cases(),
        hint="at each pixel, find the value with the smallest summed absolute error to every picture that fits",
        mistakes={"the mean: it minimises the squared error; the absolute error is minimised elsewhere":
                      lambda x: x.mean(dim=0),
                  "one of the fitting pictures (the template cannot choose: it is not told which)": lambda x: x[0],
                  "a median over the wrong axis (take it over the pictures, dim 0)":
                      lambda x: x.median(dim=1).values},
        right="your picture matches the best picture under the absolute error (found here by trying every value) "
              "on all 3 cases.")


# ----------------------------------------------------------------------------- 06 twins


def _sol_06_twins():
    def my_twins(features, base, factor=0.25):
        d = torch.cdist(features, features)  # (N, N) every distance between samples
        d.fill_diagonal_(float("inf"))  # a sample is not its own twin
        nearest_other = d.min(dim=1).values
        return (nearest_other < factor * base).float().mean()
    return my_twins


def _twins_cases():
    g = torch.Generator().manual_seed(16)
    few = torch.randn(4, 8, generator=g).repeat(6, 1) + 0.01 * torch.randn(24, 8, generator=g)
    spread = torch.randn(30, 8, generator=g) * 3
    half = torch.cat([few[:12], spread[:12]])
    return [(few, 1.0), (spread, 1.0), (half, 1.0, 0.5)]


def _twins(features, base, factor=metrics.TWIN_FACTOR):
    return (metrics.nearest_other(features) < factor * base).double().mean()


@exercise("06.twins", _sol_06_twins)
def _check_06_twins(fn) -> bool:
    def with_self(f, base, factor=metrics.TWIN_FACTOR):
        return (torch.cdist(f, f).min(dim=1).values < factor * base).float().mean()

    return check_function(
        "06.twins", fn, _twins, _twins_cases(),
        hint="for each sample find the distance to its nearest *other* sample; the answer is the share of samples "
             "for which it is below factor * base",
        mistakes={"each sample counted as its own twin (its distance to itself is 0: fill the diagonal with inf)":
                      with_self,
                  "the count of twins, not their share": lambda f, b, k=metrics.TWIN_FACTOR: _twins(f, b, k) * len(f),
                  "factor * base was left out (compared with base alone)": lambda f, b, k=metrics.TWIN_FACTOR:
                      _twins(f, b, 1.0)},
        right="your twin share matches on all 3 cases: the first set is all twins, the second has none.")


# ----------------------------------------------------------------------------- 06 memorised?


def _sol_06_memorised():
    def my_memorised(samples, train, base, factor=0.25):
        d = torch.cdist(samples.flatten(1), train.flatten(1))  # (samples, training scenes) pixel distances
        return d.min(dim=1).values < factor * base  # closer to some training scene than real scenes ever are
    return my_memorised


def _memorised_cases():
    train = scenes.batch(40, seed=0)[0]
    g = torch.Generator().manual_seed(26)
    copies = (train[[1, 7, 30]] + 0.02 * torch.randn(3, 3, 32, 32, generator=g)).clamp(-1, 1)
    fresh = scenes.batch(5, seed=27)[0]
    base = float(memorisation.nearest_distances(scenes.batch(32, seed=28)[0], train).median())
    return [(torch.cat([copies, fresh]), train, base), (fresh, train, base), (copies, train, base, 0.01)]


def _flags(samples, train, base, factor=memorisation.MEMORISED_FACTOR):
    return memorisation.nearest(samples, train)[0] < factor * base


@exercise("06.memorised", _sol_06_memorised)
def _check_06_memorised(fn) -> bool:
    def to_mean(s, t, base, factor=memorisation.MEMORISED_FACTOR):
        return torch.cdist(s.flatten(1), t.flatten(1)).mean(dim=1) < factor * base

    return check_function(
        "06.memorised", fn, _flags, _memorised_cases(),
        hint="for each sample, the pixel distance to its *nearest* training scene; flag it when that is below "
             "factor * base. Return one True/False per sample",
        mistakes={"the mean distance to all training scenes, not the nearest one": to_mean,
                  "factor * base was left out (compared with base alone)":
                      lambda s, t, b, k=memorisation.MEMORISED_FACTOR: _flags(s, t, b, 1.0)},
        right="your flags match: the planted copies are caught and fresh scenes are not.")
