"""Annotated sampling: what the model did at every step of a run.

``annotate`` runs a sampler and keeps a ``Trace`` of every k-th step within a memory budget: the images (x_t,
x0_hat, eps_hat), the taps it listened to (``taps.py``: named HookPoints, hooked inside a context manager), a
gradient if asked for, and what a guide recorded. ``Trace.frames`` turns any of them into the frames a viewer
shows. Recording never imports ipywidgets; display lives in ``widgets`` and ``plotting``, which read
``Trace.frames``.

    trace = annotate(model, n=16, steps=50, taps=["down.0", "mid.attn"])
    trace.frames("mid.attn", image=0)   # (S, 8, 8): where the centre token attends, step by step
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import einops
import torch
from tqdm.auto import tqdm

from ..diffusion.samplers import ETA, sample_steps
from ..schedules import predict_x0
from .taps import tap_shapes
from .taps import taps as listen  # (``annotate``'s own parameter is called ``taps``)

QUIET_WORDS = ("<start>", "<end>", "a", "an", "the", ",")  # tokens ``loudest_word`` passes over
STORE = torch.float16  # recorded tensors are kept as fp16 on the CPU: half the memory of fp32
MB = 1_000_000  # budgets are in megabytes (10^6 bytes)
IMAGES = ("x_t", "x0_hat", "eps_hat")
EPS_SCALE = 3.0  # eps ~ N(0, I): +-3 sigma fills the displayed range


@dataclass
class Trace:
    """What an annotated sampling run recorded, step by step.

    Per recorded step s (``steps[s]`` is the sampler's step number, ``t[s]`` the timestep):
    ``x_t``, ``x0_hat``, ``eps_hat``: (S, B, C, H, W); ``taps[name]``: (S, B, ...) — feature
    maps (S, B, C, h, w) or attention probabilities (S, B, heads, queries, keys);
    tokens (S, B, N, D); cross-attention to the prompt's words (S, B, heads, queries, L);
    ``kinds[name]`` says which (the model's ``tap_kinds``). ``grads`` (S, B, C, H, W) when a gradient
    was asked for; ``extras[key]``: what guidance recorded (``guidance_grad``, ``cfg_delta``
    (S, B, C, H, W); ``clip_similarity`` (S, B)). All fp16 on the CPU. ``meta["words"]``: each image's
    prompt as tokens, when the model was given one.
    ``final``: the finished images (B, C, H, W) in fp32, bit-identical to ``sample``'s.
    A latent model's trace (``latent.Sketchbook.annotate``) holds latents in ``x_t``, ``x0_hat`` and
    ``eps_hat``, each recorded x0_hat painted by the decoder in ``decoded`` (S, B, 3, H, W), and the painted
    scenes in ``final``.
    ``frames(name, image)`` is what a viewer shows of any of them, step by step.
    """

    steps: list[int]
    t: list[int]
    x_t: torch.Tensor
    x0_hat: torch.Tensor
    eps_hat: torch.Tensor
    taps: dict[str, torch.Tensor]
    final: torch.Tensor
    kinds: dict[str, str] = field(default_factory=dict)
    grads: torch.Tensor | None = None
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    decoded: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        """Memory actually held by the recording, in bytes."""
        tensors = [self.x_t, self.x0_hat, self.eps_hat, self.final, *self.taps.values(), *self.extras.values()]
        tensors += [x for x in (self.grads, self.decoded) if x is not None]
        return sum(x.numel() * x.element_size() for x in tensors)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return (f"Trace({len(self)} steps of {self.meta.get('sampler', '?')}-{self.meta.get('total_steps', '?')}, "
                f"{self.final.shape[0]} images, taps {list(self.taps)}, {self.nbytes / MB:.1f} MB)")

    def names(self) -> list[str]:
        """Everything ``frames`` can show: the images, the recorded taps, gradients if recorded, and the
        image-shaped things guidance recorded (its gradient, the words' push)."""
        painted = ["decoded"] if self.decoded is not None else []
        return [*IMAGES, *painted, *self.taps, *(["grads"] if self.grads is not None else []), *self.maps()]

    def maps(self) -> list[str]:
        """The extras recorded per pixel (S, B, C, H, W): guidance gradients and pushes."""
        return [k for k, v in self.extras.items() if v.ndim == 5]

    def words(self, image: int = 0) -> list[str]:
        """The tokens of image ``image``'s prompt (empty when none was given)."""
        words = self.meta.get("words") or []
        return words[image] if image < len(words) else []

    def loudest_word(self, name: str, image: int = 0) -> int:
        """The word the places of the picture listen to most, over all steps: not the start and end
        tokens or an article ("a", "the"), which often soak up attention without saying anything."""
        per_token = self.taps[name][:, image].float().mean(dim=(0, 1, 2))  # (L,) from (S, heads, N, L)
        words = self.words(image)
        said = [i for i, w in enumerate(words) if w not in QUIET_WORDS] or list(range(len(words) or len(per_token)))
        return max(said, key=lambda i: float(per_token[i]))

    def grid_side(self, name: str) -> int:
        """Side of the square token grid of an attention or tokens tap (0 for anything else)."""
        kind = self.kinds.get(name)
        if kind not in ("attention", "tokens", "words"):
            return 0
        n = self.taps[name].shape[-1 if kind == "attention" else -2]
        return math.isqrt(n)

    def frames(self, name: str, image: int = 0, query: tuple[int, int] | None = None) -> torch.Tensor:
        """What to show of ``name`` for image ``image`` at every recorded step (fp32):

        - ``"x_t"``, ``"x0_hat"``: the images (S, C, H, W) in [-1, 1]; a latent model's latents, their
          channels side by side on a square map (S, h * rows, w * cols), each channel in its own range;
        - ``"decoded"``: a latent model's x0_hat painted by the decoder (S, 3, H, W);
        - ``"eps_hat"``: the noise estimate as an image, eps / 3 clamped to [-1, 1] (S, C, H, W);
        - ``"grads"``: |gradient| summed over colour channels (S, H, W);
        - a feature tap: mean |activation| over channels (S, h, w);
        - a tokens tap: mean |activation| of each token, laid out on its square grid (S, side, side);
        - an attention tap: where the ``query`` token (row, col; default the centre) attends,
          averaged over heads (S, side, side);
        - a words tap (cross-attention): how much each place listens to word number ``query``
          of the prompt (default ``loudest_word``), averaged over heads (S, side, side);
        - a guidance map (``maps()``): |value| summed over colour channels (S, H, W).
        """
        if not 0 <= image < self.final.shape[0]:
            raise IndexError(f"image {image} is out of range: this trace holds {self.final.shape[0]} images")
        if name in ("x_t", "x0_hat"):
            x = getattr(self, name)[:, image].float()
            return x if x.shape[1] in (1, 3) else channel_map(x)
        if name == "decoded" and self.decoded is not None:
            return self.decoded[:, image].float()
        if name == "eps_hat":
            return (self.eps_hat[:, image].float() / EPS_SCALE).clamp(-1, 1)
        if name == "grads" and self.grads is not None:
            return self.grads[:, image].float().abs().sum(1)
        if name in self.maps():
            return self.extras[name][:, image].float().abs().sum(1)
        if name not in self.taps:
            raise KeyError(f"{name!r} was not recorded; this trace shows: {', '.join(self.names())}")
        x, kind, side = self.taps[name][:, image].float(), self.kinds.get(name, "features"), self.grid_side(name)
        if kind == "attention":  # (S, heads, N, N)
            r, c = query if query is not None else (side // 2, side // 2)
            if not (0 <= r < side and 0 <= c < side):
                raise ValueError(f"query {query} is outside the {side}x{side} token grid of {name}")
            return x[:, :, r * side + c, :].mean(1).reshape(-1, side, side)
        if kind == "words":  # (S, heads, N, L)
            k = self.loudest_word(name, image) if query is None else query
            if not isinstance(k, int) or not 0 <= k < x.shape[-1]:
                raise ValueError(f"word {query!r} is not a token index of the prompt (0..{x.shape[-1] - 1}); "
                                 f"its tokens: {self.words(image)}")
            return x[..., k].mean(1).reshape(-1, side, side)
        if kind == "tokens":  # (S, N, D)
            return x.abs().mean(-1).reshape(-1, side, side)
        return x.abs().mean(1)  # (S, C, h, w) -> (S, h, w)


def channel_map(x: torch.Tensor) -> torch.Tensor:
    """Latents (S, C, h, w) as one map per step: the C channels tiled on a near-square grid, each scaled to
    [0, 1] over its own range at that step, so every channel's pattern shows (S, h * rows, w * cols)."""
    S, C, h, w = x.shape
    cols = math.ceil(math.sqrt(C))
    rows = math.ceil(C / cols)
    lo, hi = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
    x = torch.cat([(x - lo) / (hi - lo + 1e-8), x.new_zeros(S, rows * cols - C, h, w)], dim=1)
    return einops.rearrange(x, "s (r c) h w -> s (r h) (c w)", r=rows, c=cols)


def estimate_bytes_per_step(model, names, n: int, grads: bool = False, guided: bool = False,
                            painted: int = 0) -> int:
    """Bytes one recorded step costs for ``n`` images: images + tap outputs (+ gradients, + the map a
    guide records, + ``painted`` numbers per image for a latent model's decoded x0_hat), fp16."""
    cfg = model.config
    image = cfg.in_channels * cfg.image_size ** 2
    per_image = (len(IMAGES) + int(grads) + int(guided)) * image + painted
    shapes = tap_shapes(model, names, (cfg.in_channels, cfg.image_size, cfg.image_size))
    per_image += sum(math.prod(s) for s in shapes.values())
    return per_image * n * STORE.itemsize


def plan_steps(total: int, bytes_per_step: int, budget_mb: float, every) -> int:
    """The step stride that fits the budget: ``every="auto"`` picks the smallest that fits
    (and says so); an explicit ``every`` that does not fit is an error saying what to do."""
    budget = budget_mb * MB
    kept = lambda k: math.ceil(total / k) + ((total - 1) % k != 0)  # noqa: E731  (every k-th step, and the last)
    need = lambda k: kept(k) * bytes_per_step  # noqa: E731
    if every == "auto":
        k = 1
        while need(k) > budget and k < total:
            k += 1
        if need(k) > budget:
            raise MemoryError(f"even one recorded step needs {bytes_per_step / MB:.1f} MB, over the "
                              f"{budget_mb} MB budget: record fewer images or taps, or raise budget_mb")
        if k > 1:
            print(f"annotate: recording one step in {k} and the last ({kept(k)} of {total}) to stay within "
                  f"{budget_mb} MB (all steps would need {need(1) / MB:.0f} MB)")
        return k
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int or 'auto', got {every!r}")
    if need(every) > budget:
        raise MemoryError(f"recording every {every} step(s) needs {need(every) / MB:.0f} MB, over the "
                          f"{budget_mb} MB budget: pass every='auto', a larger every, fewer taps or images, "
                          "or raise budget_mb")
    return every


def annotate(model, n: int = 16, steps: int = 50, sampler: str = "ddim", seed: int = 0, eta: float = ETA,
             taps: list[str] | None = None, every="auto", budget_mb: float = 100.0,
             grad_fn: Callable | None = None, progress: bool = False, decode: Callable | None = None,
             **kwargs) -> Trace:
    """Sample ``n`` images like ``samplers.sample`` and record every ``every``-th step inside the model.

    ``taps``: tap names to record (default ``model.default_taps()``). ``grad_fn(x_t, eps_hat, x0_hat)``,
    if given, returns a scalar whose gradient with respect to x_t is recorded (one extra forward and
    backward pass per recorded step). What a ``guide`` (guidance) puts in a step's extras is
    recorded too, when it is a tensor. Under classifier-free guidance the model runs on the prompt and
    the null prompt in one batch; the taps keep the prompt's rows. ``decode(z) -> images``: the model
    denoises latents (``latent.Sketchbook``); each recorded x0_hat is painted into ``Trace.decoded`` and the
    final latents into ``final``. The same seed gives bit-identical final images with annotation on or off.
    """
    gen = sample_steps(model, n, steps, sampler, seed, eta, **kwargs)  # checks the arguments at once
    names = model.default_taps() if taps is None else list(taps)
    painted = None
    if decode is not None:
        with torch.no_grad():  # (one tiny decode, to learn the painted size)
            cfg = model.config
            painted = decode(torch.zeros(1, cfg.in_channels, cfg.image_size, cfg.image_size,
                                         device=next(model.parameters()).device))[0].numel()
    per_step = estimate_bytes_per_step(model, names, n, grads=grad_fn is not None,
                                       guided=kwargs.get("guide") is not None, painted=painted or 0)
    k = plan_steps(steps, per_step, budget_mb, every)
    rec_steps, rec_t, images, tapped, grads, extras = [], [], {i: [] for i in IMAGES}, {m: [] for m in names}, [], {}
    decoded = []
    final, prompt = None, kwargs.get("prompt")
    with listen(model, names, to=STORE) as seen:
        for rec in tqdm(gen, total=steps, desc="annotated sampling", disable=not progress, leave=False):
            final = rec.x_prev
            if rec.i % k and rec.i != steps - 1:  # always keep the last step
                continue
            rec_steps.append(rec.i)
            rec_t.append(rec.t)
            for name in IMAGES:
                images[name].append(getattr(rec, name).detach().to("cpu", STORE))
            for name in names:
                tapped[name].append(seen[name][:n])  # (under classifier-free guidance: the prompt's rows)
            for key, value in rec.extras.items():
                if isinstance(value, torch.Tensor):
                    extras.setdefault(key, []).append(value.detach().to("cpu", STORE))
            if decode is not None:
                with torch.no_grad():
                    decoded.append(decode(rec.x0_hat).to("cpu", STORE))
            if grad_fn is not None:
                grads.append(_grad_wrt_x_t(model, rec, grad_fn, kwargs.get("prompt")).to("cpu", STORE))
    return Trace(
        steps=rec_steps, t=rec_t,
        **{name: torch.stack(v) for name, v in images.items()},
        taps={name: torch.stack(v) for name, v in tapped.items()},
        final=_painted(decode, final) if decode is not None else final.clamp(-1, 1).cpu(),
        kinds={name: kind for name, kind in model.tap_kinds().items() if name in names},
        grads=torch.stack(grads) if grads else None,
        extras={key: torch.stack(v) for key, v in extras.items()},
        meta={"sampler": sampler, "total_steps": steps, "every": k, "seed": seed,
              "eta": eta, "model": type(model).__name__, "budget_mb": budget_mb,
              "words": prompt.expand(n).words if prompt is not None else None,
              "guide": repr(kwargs["guide"]) if kwargs.get("guide") is not None else None},
        decoded=torch.stack(decoded) if decoded else None,
    )


def _painted(decode: Callable, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return decode(z).clamp(-1, 1).cpu()


def _grad_wrt_x_t(model, rec, grad_fn, prompt=None) -> torch.Tensor:
    """d grad_fn(x_t, eps_hat, x0_hat) / d x_t at this step, recomputing the model with gradients on."""
    ab = model.schedule.alpha_bar[rec.t].to(rec.x_t.device)
    with torch.enable_grad():
        x = rec.x_t.detach().clone().requires_grad_(True)
        eps_hat = model(x, torch.full((x.shape[0],), rec.t, device=x.device),
                        **({"prompt": prompt} if prompt is not None else {}))
        (g,) = torch.autograd.grad(grad_fn(x, eps_hat, predict_x0(x, eps_hat, ab)), x)
    return g
