"""Drawing from words: classifier-free guidance and CLIP guidance, as guides for the one sampling loop.

A *guide* is a callable the sampler calls in place of the plain model call at every step:

    guide(model, x_t, t, extras, **model_kwargs) -> eps_hat

It may run the model however it likes (twice in one batch, with gradients on) and may store what it did
in ``extras``: ``trace.annotate`` records every tensor there, so the viewer can show it beside x_t and
x0_hat. With no guide the sampler calls ``model(x_t, t, **model_kwargs)`` under no_grad, exactly as before.

* ``ClassifierFree(scale)`` (Ho & Salimans 2022), for a model that listens and was trained with some
  empty captions. One batched pass reads the prompt and the null prompt; then

      eps_hat = eps_u + s (eps_c - eps_u)

  s = 0 is unconditional, s = 1 plain conditional, s > 1 follows the words harder (at a cost in variety).
* ``ClipGuidance(clip_model, tokenizer, caption, scale)`` steers *any* denoiser, one that never heard a
  word included, with the gradient of the tiny CLIP's image-caption similarity. The CLIP reads the
  model's clean guess x0_hat(x_t) = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t), not the
  dusty x_t it was never trained to read (GLIDE, Nichol et al. 2022; the diffusers community pitfall),
  and the gradient flows back through x0_hat and the model to x_t. It enters the update as classifier
  guidance does (Dhariwal & Nichol 2021, eq. 14):

      eps_hat <- eps_hat - s sqrt(1 - alpha_bar_t) grad_{x_t} sim(CLIP(x0_hat(x_t)), caption)

  Its levers, each off by default (the plain recipe is the notebook's first look): ``normalise`` rescales each
  image's gradient to unit root-mean-square, so the scale is the size of the push, not of a gradient that
  shrinks as the CLIP grows sure (Disco Diffusion's recipe); ``window=(lo, hi)`` guides only while
  lo <= t / T <= hi (a guidance window: early steps set the layout, late ones only detail); ``blend`` lets the
  CLIP read sqrt(1 - alpha_bar) x0_hat + (1 - sqrt(1 - alpha_bar)) x_t, as the diffusers community pipeline
  does. For a model that draws in a sketchbook (notebook 09), ``paint`` is its autoencoder's decoder: the CLIP reads
  the painted guess D(x0_hat), and the gradient flows back through the decoder too.
* ``best_of(x, clip_model, tokenizer, caption, n)``: no push at all, draw more and keep the ``n`` drawings the
  CLIP likes best (DALL-E's reranking), the baseline any guidance should beat at equal cost.
"""
from __future__ import annotations

import warnings

import torch

from ..schedules import predict_x0
from ..words import clip


def check_scale(scale: float) -> float:
    if not isinstance(scale, (int, float)) or scale < 0 or scale != scale:
        raise ValueError(f"a guidance scale is a number >= 0 (0: no guidance), got {scale!r}")
    return float(scale)


def plain(model, x_t: torch.Tensor, t: torch.Tensor, extras: dict, **model_kwargs) -> torch.Tensor:
    """No guidance: the model's own eps_hat (what the sampler does without a guide)."""
    with torch.no_grad():
        return model(x_t, t, **model_kwargs)


class ClassifierFree:
    """Classifier-free guidance at scale ``s``: ``sample(model, n, prompt=p, guide=ClassifierFree(3.0))``.

    Records ``extras["cfg_delta"]`` = eps_c - eps_u, the direction the words push (B, C, H, W).
    """

    def __init__(self, scale: float):
        self.scale = check_scale(scale)

    def __repr__(self) -> str:
        return f"ClassifierFree(scale={self.scale:g})"

    def __call__(self, model, x_t: torch.Tensor, t: torch.Tensor, extras: dict, prompt=None,
                 **model_kwargs) -> torch.Tensor:
        if not getattr(model, "listens", False):
            raise ValueError("classifier-free guidance needs a model that listens (unet-words, latent-dit-words); "
                             "steer an unconditional model with ClipGuidance instead")
        if prompt is None:
            raise ValueError("classifier-free guidance needs something to say: sample(model, n, prompt=..., guide=...)")
        if prompt.is_empty():  # nothing to follow: the unconditional sample, at the cost of one pass
            if not getattr(self, "_warned", False):
                warnings.warn("the prompt is empty, so classifier-free guidance has nothing to follow: "
                              "drawing unconditionally", stacklevel=2)
                self._warned = True
            return plain(model, x_t, t, extras, prompt=prompt, **model_kwargs)
        n = x_t.shape[0]
        both = model.read_prompt(prompt, n, x_t.device).cat(model.read_prompt(None, n, x_t.device))
        with torch.no_grad():  # conditional and unconditional in one batched pass, conditional rows first
            eps_c, eps_u = model(torch.cat([x_t, x_t]), torch.cat([t, t]), prompt=both, **model_kwargs).chunk(2)
        extras["cfg_delta"] = eps_c - eps_u
        return eps_u + self.scale * (eps_c - eps_u)


class ClipGuidance:
    """CLIP guidance toward ``caption`` at scale ``s``, through the model's x0_hat:
    ``sample(unet, n, guide=ClipGuidance(clip_model, tokenizer, "the pup sitting in a rocket", 50))``.

    For a model that listens, ``prompt=`` in the sampler's arguments is what the model hears while the CLIP
    pushes (default: the null prompt, so the CLIP does all the steering). Records
    ``extras["guidance_grad"]``, the gradient (B, C, H, W) before scaling (zero outside the window), and
    ``extras["clip_similarity"]`` (B,), how well each x0_hat matched the caption at that step. The levers
    (``normalise``, ``window``, ``blend``) are in the module docstring.
    """

    def __init__(self, clip_model, tokenizer, caption: str, scale: float, *, normalise: bool = False,
                 window: tuple[float, float] = (0.0, 1.0), blend: bool = False, paint=None):
        self.scale, self.caption = check_scale(scale), caption
        lo, hi = window
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"a guidance window is (lo, hi) with 0 <= lo <= hi <= 1 (shares of T), got {window!r}")
        self.normalise, self.window, self.blend = normalise, (float(lo), float(hi)), blend
        self.paint = paint  # a latent model's decoder (differentiable): latents -> pictures; None for pixels
        self.clip_model = clip_model.eval().requires_grad_(False)
        self.text = clip.encode_texts(clip_model, tokenizer, [caption]).detach()  # (1, E) unit vector

    def __repr__(self) -> str:
        levers = [name for name, on in (("normalise", self.normalise), ("blend", self.blend)) if on]
        if self.window != (0.0, 1.0):
            levers.append(f"window=({self.window[0]:g}, {self.window[1]:g})")
        return f"ClipGuidance({self.caption!r}, scale={self.scale:g}{''.join(', ' + v for v in levers)})"

    def similarity(self, x0_hat: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (B,) of each clean guess (painted first, for a latent model) with the caption
        (differentiable)."""
        picture = x0_hat if self.paint is None else self.paint(x0_hat)
        return (clip.encode_images(self.clip_model, picture.clamp(-1, 1)) @ self.text.to(x0_hat.device).T)[:, 0]

    def read(self, x: torch.Tensor, eps_hat: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
        """What the CLIP reads at x_t = ``x``: x0_hat, or with ``blend`` its mix with x_t."""
        x0_hat = predict_x0(x, eps_hat, alpha_bar)
        if not self.blend:
            return x0_hat
        fac = (1 - alpha_bar).sqrt()
        return fac * x0_hat + (1 - fac) * x

    def __call__(self, model, x_t: torch.Tensor, t: torch.Tensor, extras: dict, **model_kwargs) -> torch.Tensor:
        size = self.clip_model.visual.image_size[0]
        if x_t.shape[1] != 3 and self.paint is None:
            raise ValueError(f"this model draws {x_t.shape[1]}-channel latents, not pictures: give ClipGuidance "
                             "paint=its autoencoder's decode, so that the CLIP reads the painted guess")
        if x_t.shape[-1] != size and self.paint is None:
            raise ValueError(f"this CLIP reads {size}x{size} images but the model draws {x_t.shape[-1]}x"
                             f"{x_t.shape[-1]}: use a CLIP trained at the model's image size")
        alpha_bar = model.schedule.alpha_bar.to(x_t.device)[t].float().view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        share = t.float() / model.schedule.T
        inside = ((share >= self.window[0]) & (share <= self.window[1])).view(-1, 1, 1, 1)
        if not inside.any():  # outside the window: the plain step, and what the CLIP would have said of it
            eps_hat = plain(model, x_t, t, extras, **model_kwargs)
            with torch.no_grad():
                extras["clip_similarity"] = self.similarity(self.read(x_t, eps_hat, alpha_bar))
            extras["guidance_grad"] = torch.zeros_like(x_t)
            return eps_hat
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)
            eps_hat = model(x, t, **model_kwargs)  # with the graph kept: the gradient flows back through it
            sim = self.similarity(self.read(x, eps_hat, alpha_bar))  # the CLIP reads x0_hat(x_t)
            (grad,) = torch.autograd.grad(sim.sum(), x)  # each image's gradient (they do not interact)
        grad = grad * inside
        extras["guidance_grad"] = grad
        extras["clip_similarity"] = sim.detach()
        if self.normalise:  # each image's push of unit root-mean-square
            grad = grad / grad.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-12)
        return eps_hat.detach() - self.scale * (1 - alpha_bar).sqrt() * grad


@torch.no_grad()
def best_of(x: torch.Tensor, clip_model, tokenizer, caption: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Reranking (DALL-E, Ramesh et al. 2021): of drawings ``x`` (N, C, H, W) in [-1, 1], the ``n`` the CLIP
    finds most like ``caption``, best first, and their similarities (n,)."""
    if not 0 < n <= len(x):
        raise ValueError(f"keep between 1 and the {len(x)} drawings given, got n={n}")
    sim = clip.similarity(clip_model, tokenizer, x, [caption])[:, 0]
    order = sim.argsort(descending=True)[:n]
    return x[order], sim[order]
