"""What a denoiser is told of each training scene: its caption in a fresh phrasing, its description, or nothing.

A model that listens (text-conditioned) learns from each scene's caption, said in a fresh phrasing each step
(``scenes.phrasings``), a share of them plainly, without colours and phases (``scenes.plain``), or leaving near/far
unsaid (``scenes.loose``); ``cond_dropout`` of the captions are replaced by the empty one, so the same model also
draws unconditionally, as classifier-free guidance needs (Ho & Salimans 2022). The frozen tiny CLIP reads them
(``clip.prompt``). A *described* model (notebook 06) learns from each scene's description (``scenes.describe``) in
the same way: facts a sentence may leave out (``UNSAID``) are left out at random, and ``cond_dropout`` of the
descriptions say nothing (the zero vector).

Every choice is drawn from the trainer's generator, so a resumed run is told exactly what it would have been told.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import scenes

UNSAID = ("colour", "phase", "pup_left_of_rocket", "rocket_left_of_moon")  # what a sentence may leave out


def captions(idx: torch.Tensor, phrasings: list[list[str]], loose: list[list[str]] | None, cfg,
             generator: torch.Generator) -> list[str]:
    """Each scene's caption (scene ``i`` says one of ``phrasings[i]``) in a random phrasing, ``cfg.unsaid_share``
    of them (where the scene has a rocket and a moon) one of ``loose[i]``, leaving near/far unsaid,
    ``cfg.plain_share`` without colours and phases; ``cfg.cond_dropout`` of them empty (the null prompt)."""
    unsaid_too = cfg.unsaid_share > 0  # a fourth draw only then: recipes without it train as before
    u = torch.rand(len(idx), 3 + unsaid_too, generator=generator).tolist()
    out = []
    for (drop, pick, bare, *unsaid), i in zip(u, idx.tolist()):
        said = loose[i] if unsaid and unsaid[0] < cfg.unsaid_share and loose[i] else phrasings[i]
        caption = said[int(pick * len(said))]
        out.append("" if drop < cfg.cond_dropout else scenes.plain(caption) if bare < cfg.plain_share else caption)
    return out


def descriptions(idx: torch.Tensor, facts: list[dict], cfg, generator: torch.Generator) -> torch.Tensor:
    """Each scene's description (``scenes.describe`` of ``facts[i]``) (B, cond_dim), each fact of ``UNSAID`` left
    out with probability ``cfg.plain_share`` (as a plain caption leaves out colours), ``cfg.cond_dropout`` of them
    the zero vector (nothing said: the model also draws unconditionally)."""
    u = torch.rand(len(idx), 1 + len(UNSAID), generator=generator).tolist()
    out = []
    for (drop, *bare), said in zip(u, (facts[i] for i in idx.tolist())):
        if drop < cfg.cond_dropout:
            said = {}
        else:
            said = said | {k: None for k, b in zip(UNSAID, bare) if b < cfg.plain_share}
        out.append(scenes.describe(said))
    return torch.from_numpy(np.stack(out))
