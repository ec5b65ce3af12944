"""What every denoiser shares: a config, the schedule it was trained for, and named taps.

A denoiser is called as ``model(x_t, t, cond=None, prompt=None) -> eps_hat`` (Ho et al. 2020: the
network predicts the noise eps that was mixed into x_t). A network whose last layer says the velocity v instead
(``config.prediction`` "v", Salimans & Ho 2022) hands back the noise that v names (``eps_hat``), so samplers,
guidance and the loss read eps either way. A *described* model (``cond_dim`` > 0, no
words) reads a scene description, ``scenes.describe``'s vector, as ``cond``; the zero vector says nothing.
A model that *listens*
(``config.context_dim`` > 0) reads a ``prompts.Prompt``; without one it reads its null prompt, the
empty caption, whose encoding it keeps as buffers (``null_*``), so it draws unconditionally and every
sampler works unchanged. Its taps are the ``HookPoint``
layers inside it, found by walking its own module tree (as TransformerLens finds its hook
points): each has a stable name and a kind ("features", "attention", "tokens"), and
``trace`` attaches hooks to them. No model keeps a hand-written list of its taps.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .. import schedules
from ..words.prompts import READER_TOLERANCE, Prompt, reader_gap
from .layers import HookPoint

NULL_WORDS = ["<start>", "<end>"]  # what the empty caption is made of


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode for the block (no dropout, running statistics), then back in the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class Denoiser(nn.Module):
    config: object
    DEFAULT_TAPS: tuple[str, ...] = ()  # what the annotated sampler records when not told

    @property
    def schedule(self) -> schedules.Schedule:
        return schedules.get(self.config.schedule, self.config.T)

    def taps(self) -> dict[str, HookPoint]:
        """Every tap of the model, by name, in the order the forward pass meets them."""
        return {m.name: m for m in self.modules() if isinstance(m, HookPoint)}

    def tap_names(self) -> list[str]:
        """Stable names of everything that can be recorded, in forward order."""
        return list(self.taps())

    def tap_kinds(self) -> dict[str, str]:
        """Each tap's kind: "features" (B, C, h, w), "attention" (B, heads, N, N) or "tokens" (B, N, D)."""
        return {name: m.kind for name, m in self.taps().items()}

    def tap(self, name: str) -> HookPoint:
        """The HookPoint module behind a tap name."""
        found = self.taps()
        if name not in found:
            raise KeyError(f"{type(self).__name__} has no tap {name!r}; its taps are: {', '.join(found)}")
        return found[name]

    def default_taps(self) -> list[str]:
        """A small, informative set of taps to record when none are named (``DEFAULT_TAPS`` that exist)."""
        names = self.tap_names()
        return [n for n in self.DEFAULT_TAPS if n in names] or names[:4]

    # ------------------------------------------------------------------ words
    @property
    def listens(self) -> bool:
        """True for a text-conditioned model (it reads prompts)."""
        return bool(getattr(self.config, "context_dim", 0))

    def init_words(self) -> None:
        """Buffers for the null prompt (the empty caption's encoding), set by ``set_null_prompt``."""
        cfg = self.config
        if not self.listens:
            return
        if not cfg.context_len or not cfg.cond_dim:
            raise ValueError("a model that listens needs context_len (tokens) and cond_dim (pooled width)")
        self.register_buffer("null_tokens", torch.zeros(1, cfg.context_len, cfg.context_dim))
        null_mask = torch.zeros(1, cfg.context_len, dtype=torch.bool)
        null_mask[:, :len(NULL_WORDS)] = True  # (until set: two zero tokens, never an all-padding row)
        self.register_buffer("null_mask", null_mask)
        self.register_buffer("null_pooled", torch.zeros(1, cfg.cond_dim))

    def set_null_prompt(self, null: Prompt) -> None:
        """Keep the text encoder's reading of the empty caption (done once, before training)."""
        if not self.listens:
            raise ValueError(f"this {type(self).__name__} is unconditional: it has no null prompt to set")
        if len(null) != 1 or not null.is_empty():
            raise ValueError("the null prompt is the encoding of one empty caption, ''")
        self.check_prompt(null)
        self.null_tokens.copy_(null.tokens)
        self.null_mask.copy_(null.mask)
        self.null_pooled.copy_(null.pooled)

    def null_prompt(self) -> Prompt:
        """The empty caption as this model reads it: drawing from it is drawing unconditionally."""
        return Prompt([""], self.null_tokens, self.null_mask, self.null_pooled, [NULL_WORDS])

    def check_prompt(self, prompt: Prompt) -> None:
        cfg = self.config
        tokens, pooled = prompt.tokens.shape[1:], prompt.pooled.shape[1:]
        if tokens != (cfg.context_len, cfg.context_dim) or pooled != (cfg.cond_dim,):
            raise ValueError(f"this model reads prompts of {cfg.context_len} tokens of width {cfg.context_dim} and a "
                             f"pooled width {cfg.cond_dim}, but got tokens {tuple(tokens)} and pooled {tuple(pooled)}: "
                             "encode the prompt with the tiny CLIP it was trained with")
        if prompt.reader is not None and bool(self.null_pooled.any()):  # (a model whose null prompt is set)
            gap = reader_gap(self.null_pooled, prompt.reader)
            if gap > READER_TOLERANCE:
                raise ValueError(
                    f"this prompt was read by another tiny CLIP than the one this model was trained to listen to "
                    f"(their readings of the empty caption differ by up to {gap:.2g}), and it would draw nonsense: "
                    "read the prompt with the CLIP it was trained with, or, if data/clip-scenes was re-made, re-train "
                    "the model with the new one (its card says how)")

    def read_prompt(self, prompt: Prompt | None, n: int, device: torch.device) -> Prompt | None:
        """The prompt for a batch of ``n`` images (the null prompt when None); None for a model that does not listen."""
        if not self.listens:
            if prompt is not None:
                raise ValueError(f"this {type(self).__name__} is unconditional and does not read prompts: use a model "
                                 "that listens (unet-words, latent-dit-words), or steer it with guidance.ClipGuidance")
            return None
        prompt = self.null_prompt() if prompt is None else prompt
        self.check_prompt(prompt)
        return prompt.expand(n).to(device)

    # ------------------------------------------------------------ descriptions
    @property
    def described(self) -> bool:
        """True for a model conditioned on a scene description (``scenes.describe``: cond_dim > 0, no words)."""
        return bool(getattr(self.config, "cond_dim", 0)) and not self.listens

    def read_description(self, cond: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
        """The description vectors (n, cond_dim) for a batch: one for every image or one per image; the zero
        vector (nothing said: drawing unconditionally) when None. ``cond`` as given for other models."""
        if not self.described:
            return cond
        d = self.config.cond_dim
        if cond is None:
            return torch.zeros(n, d, device=device)
        if cond.ndim != 2 or cond.shape[1] != d or cond.shape[0] not in (1, n):
            raise ValueError(f"this model reads descriptions of shape (1 or {n}, {d}) (scenes.describe), "
                             f"got {tuple(cond.shape)}")
        return cond.to(device).expand(n, d)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def eps_hat(self, out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's last layer ``out`` read as the noise it names (``config.prediction``): itself for "eps";
        for "v", the noise of that velocity (``schedules.eps_from_v``)."""
        kind = getattr(self.config, "prediction", "eps")
        if kind == "eps":
            return out
        if kind == "v":
            return schedules.eps_from_v(x_t, out, self.schedule.at(self.schedule.alpha_bar, t, x_t))
        raise ValueError(f"prediction is 'eps' or 'v', got {kind!r}")

    def check_input(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        c, s = self.config.in_channels, self.config.image_size
        if x_t.ndim != 4 or x_t.shape[1:] != (c, s, s):
            raise ValueError(f"expected x_t of shape (B, {c}, {s}, {s}), got {tuple(x_t.shape)}")
        t = torch.as_tensor(t, device=x_t.device)
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        if t.shape != (x_t.shape[0],):
            raise ValueError(f"expected one timestep per image, shape ({x_t.shape[0]},), got {tuple(t.shape)}")
        return t
