"""Exercises of notebooks 03 (Team CNN), 04 (Team Transformers) and 05 (the challenge)."""
from __future__ import annotations

import torch
from einops import rearrange

from .. import config
from ..models import build
from .core import check_function, check_number, exercise

# ----------------------------------------------------------------------------- 03 team CNN

def _sol_03_rf():
    def my_receptive_field(n_convs, k=3):
        return 1 + n_convs * (k - 1)  # one pixel, then k - 1 more for every conv stacked on top
    return my_receptive_field


@exercise("03.receptive_field", _sol_03_rf)
def _check_03_rf(fn) -> bool:
    return check_function("03.receptive_field", fn, _sol_03_rf(), [(1, 3), (2, 3), (5, 3), (3, 5), (10, 3)],
                           "one k × k conv sees k pixels a side; how many new ones does each further conv add?",
                           mistakes={"n · k: the windows overlap, so each conv after the first adds only k − 1 pixels":
                                         lambda n, k=3: n * k,
                                     "n · (k − 1): the right growth, but one conv alone already sees k pixels":
                                         lambda n, k=3: n * (k - 1),
                                     "k to the power n: windows grow by adding k − 1 per conv, not by multiplying":
                                         lambda n, k=3: k ** n})


def _sol_03_unet_rf():
    def my_unet_fields(blocks, levels):
        side, jump, fields = 3, 1, []  # the stem is one 3x3 conv; neighbouring units are 1 pixel apart
        for level in range(levels):
            side += blocks * 2 * 2 * jump  # each residual block: two 3x3 convs, each adds 2 units = 2 * jump pixels
            fields.append(side)  # what a unit of down.{level} sees
            if level < levels - 1:
                side += 2 * jump  # the stride-2 3x3 conv down to the next level...
                jump *= 2  # ...after which neighbouring units are twice as far apart
        return fields
    return my_unet_fields


def _unet_fields(blocks: int, levels: int, stem: int = 3, convs_per_block: int = 2, downsample: bool = True,
                 doubling: bool = True) -> list[int]:
    """The U-Net's receptive fields with one typical mistake switched on (defaults: the rule itself):
    no stem (``stem=1``), one conv per block, no downsampling conv, or a jump that never doubles."""
    side, jump, fields = stem, 1, []
    for level in range(levels):
        side += blocks * convs_per_block * 2 * jump
        fields.append(side)
        side += 2 * jump if downsample and level < levels - 1 else 0
        jump *= 2 if doubling else 1
    return fields


def _model_fields(blocks: int, levels: int) -> list[int]:
    """``conv_receptive_fields`` of a U-Net with ``blocks`` residual blocks at each of ``levels`` levels."""
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the learner's RNG alone
        model = build(config.UNetConfig(channels=(8,) * levels, blocks=blocks, attn_levels=()))
    return list(model.conv_receptive_fields().values())


@exercise("03.unet_receptive_fields", _sol_03_unet_rf)
def _check_03_unet_rf(fn) -> bool:
    shipped = config.PRESETS["unet-scenes"]
    fields = ", ".join(f"{side} × {side}" for side in _model_fields(shipped.blocks, len(shipped.channels)))
    return check_function("03.unet_receptive_fields", fn, _model_fields,
                         [(shipped.blocks, len(shipped.channels)), (1, 3), (3, 2), (2, 4), (1, 1)],
                         "start from the stem's 3 pixels; every 3×3 conv adds 2 units, and a unit is `jump` pixels "
                         "wide, where jump doubles after each stride-2 downsampling conv",
                         mistakes={"the jump never doubles: after a stride-2 downsampling neighbouring units are "
                                   "twice as far apart, so each conv there adds twice as many pixels":
                                       lambda b, n: _unet_fields(b, n, doubling=False),
                                   "the stride-2 downsampling convs are missing: each is a 3×3 conv too":
                                       lambda b, n: _unet_fields(b, n, downsample=False),
                                   "the stem is missing: one 3×3 conv comes before down.0, so start from 3":
                                       lambda b, n: _unet_fields(b, n, stem=1),
                                   "one conv per residual block; each block has two":
                                       lambda b, n: _unet_fields(b, n, convs_per_block=1)},
                           right=f"your rule gives the U-Net's own fields on all 5 layouts; for the shipped one "
                                 f"({shipped.blocks} blocks, {len(shipped.channels)} levels): {fields} pixels.")


def _sol_03_cell() -> int:
    cfg = config.PRESETS["unet-scenes"]
    coarsest = cfg.image_size // 2 ** (len(cfg.channels) - 1)  # each level after the first halves the side
    return cfg.image_size // coarsest  # input pixels along one side of a coarsest cell


@exercise("03.cell_size", _sol_03_cell)
def _check_03_cell(answer) -> bool:
    cfg = config.PRESETS["unet-scenes"]
    coarsest = cfg.image_size // 2 ** (len(cfg.channels) - 1)
    truth = cfg.image_size // coarsest
    return check_number("03.cell_size", answer, truth, 0,
                         f"{truth} × {truth} input pixels sit under each cell of the {coarsest} × {coarsest} level "
                         f"({cfg.image_size} / {coarsest} = {truth}).",
                         "each stride-2 downsampling halves the side; how many input pixels span one cell's side?",
                         mistakes={"the number of pixels under a cell (side × side); the question asks for its side":
                                       truth ** 2,
                                   "the side of the coarse grid, in cells; how many input pixels does one cell span?":
                                       coarsest,
                                   "one halving; the U-Net halves the side at every level after the first": 2})


# ----------------------------------------------------------------------------- 04 team transformers

def _sol_04_tokens():
    def my_tokens(image_size, patch):
        return (image_size // patch) ** 2  # a (size/p) x (size/p) grid of puzzle pieces
    return my_tokens


@exercise("04.tokens", _sol_04_tokens)
def _check_04_tokens(fn) -> bool:
    return check_function("04.tokens", fn, _sol_04_tokens(), [(32, 2), (32, 4), (32, 8), (64, 4), (16, 1)],
                           "the pieces form a square grid with image_size / patch pieces a side",
                           mistakes={"the pieces along one side only, not the whole grid": lambda s, p: s // p,
                                     "the pixels divided by patch, but each piece holds patch × patch pixels":
                                         lambda s, p: s * s // p,
                                     "the pixels in one piece, not the number of pieces": lambda s, p: p * p})


def _sol_04_patchify():
    def my_patchify(x, patch):
        return rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch)  # pieces row by row
    return my_patchify


def _cut(pieces: str):
    """patchify with the pieces laid out as ``pieces`` (a typical slip)."""
    return lambda x, p: rearrange(x, f"b c (h p1) (w p2) -> {pieces}", p1=p, p2=p)


def _images():
    g = torch.Generator().manual_seed(3)
    return [(torch.randn(2, 3, 8, 8, generator=g), 2), (torch.randn(1, 3, 12, 12, generator=g), 4),
            (torch.randn(1, 4, 8, 8, generator=g), 1)]


@exercise("04.patchify", _sol_04_patchify)
def _check_04_patchify(fn) -> bool:
    return check_function("04.patchify", fn, _sol_04_patchify(), _images(),
                           "cut H and W into (h p1) and (w p2); the pieces run row by row (h w), and each piece lists "
                           "its pixels row by row with the colours of a pixel together (p1 p2 c)",
                           mistakes={"each piece lists a colour's pixels, then the next colour's (c p1 p2); the model "
                                     "keeps a pixel's colours together (p1 p2 c)": _cut("b (h w) (c p1 p2)"),
                                     "the pieces run column by column (w h); the model reads them row by row (h w)":
                                         _cut("b (w h) (p1 p2 c)"),
                                     "inside a piece the pixels run column by column (p2 p1)":
                                         _cut("b (h w) (p2 p1 c)")})


def _sol_04_attend():
    def my_attend(attn, v):
        return rearrange(attn @ v, "b heads n d -> b n (heads d)")  # each query's mean of the values
    return my_attend


def _attn_v_cases():
    g = torch.Generator().manual_seed(4)
    return [(torch.randn(2, 4, n, n, generator=g).softmax(-1), torch.randn(2, 4, n, d, generator=g))
            for n, d in ((16, 8), (9, 32))]


@exercise("04.attend", _sol_04_attend)
def _check_04_attend(fn) -> bool:
    return check_function("04.attend", fn, _sol_04_attend(), _attn_v_cases(),
                           "each query's row of attention weights the values: attn @ v (B, heads, N, d), then the "
                           "heads side by side in each token: (B, N, heads · d)",
                           mistakes={"the transposed weights (attnᵀ @ v): a row of attn is one query's shares over "
                                     "the keys, so attn @ v":
                                         lambda a, v: rearrange(a.transpose(-1, -2) @ v, "b h n d -> b n (h d)"),
                                     "the heads are interleaved (d heads); the model puts head 0's numbers first, "
                                     "then head 1's: (heads d)":
                                         lambda a, v: rearrange(a @ v, "b h n d -> b n (d h)")})


# ----------------------------------------------------------------------------- 05 the challenge

def _sol_05_patch_cost() -> int:
    cfg = config.PRESETS["dit-scenes"]
    tokens = (cfg.image_size // cfg.patch) ** 2  # the shipped DiT's pieces
    pixels = cfg.image_size ** 2  # patch 1: every pixel its own piece
    return (pixels // tokens) ** 2  # attention compares every pair: the ratio of tokens, squared


@exercise("05.patch_cost", _sol_05_patch_cost)
def _check_05_patch_cost(answer) -> bool:
    cfg = config.PRESETS["dit-scenes"]
    tokens, pixels = (cfg.image_size // cfg.patch) ** 2, cfg.image_size ** 2
    truth = _sol_05_patch_cost()
    return check_number("05.patch_cost", answer, truth, 0,
                         "the ratio of tokens, squared: attention compares every pair of tokens, so the "
                         "entries of every attention map grow with the square of the number of pieces.",
                         f"count the tokens for patch {cfg.patch} and patch 1 on a {cfg.image_size} × "
                         f"{cfg.image_size} image, then the pairs of tokens",
                         mistakes={"the ratio of tokens; attention compares every token with every other":
                                       pixels // tokens,
                                   "the ratio of patch sides; count tokens, then pairs of tokens": cfg.patch})


def _sol_05_equal_flops():
    def my_equal_flop_steps(steps, flops_a, flops_b):
        return steps * flops_a / flops_b  # team b's steps cost flops_b each; spend what team a spent
    return my_equal_flop_steps


@exercise("05.equal_flop_steps", _sol_05_equal_flops)
def _check_05_equal_flops(fn) -> bool:
    return check_function("05.equal_flop_steps", fn, _sol_05_equal_flops(),
                           [(150, 35.0, 7.0), (100, 6.0, 30.0), (10, 3.0, 2.0)],
                           "team a spends steps × flops_a; how many of team b's steps cost that much?",
                           mistakes={"the ratio upside down: the cheaper team must get *more* steps":
                                         lambda s, a, b: s * b / a,
                                     "the same steps for both: that is the equal-steps race": lambda s, a, b: s,
                                     "team a's total FLOPs, not team b's steps": lambda s, a, b: s * a})


def _sol_05_standard_error():
    def my_standard_error(p, n):
        return (p * (1 - p) / n) ** 0.5  # the spread of a rate measured on n drawings
    return my_standard_error


@exercise("05.standard_error", _sol_05_standard_error)
def _check_05_standard_error(fn) -> bool:
    return check_function("05.standard_error", fn, _sol_05_standard_error(),
                           [(torch.tensor(0.25), 64), (torch.tensor(0.5), 32), (torch.tensor(0.9), 128)],
                           "a rate p of n yes/no drawings has variance p (1 - p) / n; the error is its square root",
                           mistakes={"the variance: take its square root": lambda p, n: p * (1 - p) / n,
                                     "p (1 - p) divided by sqrt(n): the square root covers the whole fraction":
                                         lambda p, n: p * (1 - p) / n ** 0.5,
                                     "sqrt(p / n): the variance of a yes/no rate is p (1 - p), not p":
                                         lambda p, n: (p / n) ** 0.5})

