"""How well the tiny CLIP reads: retrieval and relation pairs on held-out scenes (Radford et al. 2021 measure a
CLIP by retrieval; the relation pairs ask, as ARO does (Yuksekgonul et al. 2023), whether it hears the order of the
words), and the same on what a sampler's x0_hat looks like mid-way, which is what guidance asks it about.

    evaluate(model, tokenizer, denoiser=load_pretrained("unet-scenes"))   # what the CLIP's card records
"""
from __future__ import annotations

import torch

from .. import scenes
from ..scenes import HELD_OUT_SEED
from ..schedules import predict_x0
from . import clip


@torch.no_grad()
def retrieval(model, tokenizer, x: torch.Tensor, labels: list[scenes.SceneLabels], group: int = 32) -> dict:
    """Top-1 retrieval among ``group`` held-out scenes, both ways. A hit is a retrieved caption that is
    true of the image (image -> text), or a retrieved image of which the caption is true (text -> image):
    two scenes may share a description, and either is then right."""
    captions = [scenes.caption(lab) for lab in labels]
    facts = [scenes.facts(lab) for lab in labels]
    said = [scenes.parse(c) for c in captions]
    hits_i2t = hits_t2i = n = 0
    for s in range(0, len(x) - group + 1, group):
        sim = clip.similarity(model, tokenizer, x[s:s + group], captions[s:s + group])
        for i in range(group):
            hits_i2t += scenes.satisfies(said[s + int(sim[i].argmax())], facts[s + i])
            hits_t2i += scenes.satisfies(said[s + i], facts[s + int(sim[:, i].argmax())])
        n += group
    return {"image_to_text": hits_i2t / max(1, n), "text_to_image": hits_t2i / max(1, n), "images": n, "group": group}


@torch.no_grad()
def relation_pairs(model, tokenizer, x: torch.Tensor, labels: list[scenes.SceneLabels]) -> dict:
    """Caption pairs with the same words and one relation changed: how often the image is closer to the
    true one, per relation and over all pairs."""
    out, total, right = {}, 0, 0
    for rel in scenes.words.SWAPS:
        idx, true, false = [], [], []
        for i, lab in enumerate(labels):
            for c in scenes.phrasings(lab):
                if (s := scenes.words.swap_relation(c, rel)) is not None:
                    idx.append(i), true.append(c), false.append(s)
                    break
        if not idx:
            continue
        img = clip.encode_images(model, x[idx])
        s_true = (img * clip.encode_texts(model, tokenizer, true)).sum(-1)
        ok = s_true > (img * clip.encode_texts(model, tokenizer, false)).sum(-1)
        out[rel] = ok.float().mean().item()
        total, right = total + len(idx), right + int(ok.sum())
    out["all"] = right / max(1, total)
    return out


@torch.no_grad()
def x0_hat_at(denoiser, x0: torch.Tensor, t: int = 500, seed: int = 0) -> torch.Tensor:
    """What a sampler's x0_hat looks like at step t: dust real scenes to x_t with q(x_t | x_0), and let
    ``denoiser`` (a shipped denoiser) predict x0 from x_t (Ho et al. 2020, eq. 15). (B, 3, H, W) in [-1, 1]."""
    s = denoiser.schedule
    g = torch.Generator().manual_seed(seed)
    tt = torch.full((len(x0),), t, dtype=torch.long)
    x_t = s.q_sample(x0, tt, torch.randn(x0.shape, generator=g))
    eps_hat = denoiser(x_t, tt)
    return predict_x0(x_t, eps_hat, s.alpha_bar[tt][:, None, None, None]).clamp(-1, 1)


def evaluate(model, tokenizer, n: int = 512, denoiser=None, t: int = 500) -> dict:
    """The tiny CLIP on ``n`` held-out scenes: retrieval among 32 both ways, relation pairs, and (given a
    denoiser) retrieval on that denoiser's x0_hat at step ``t``."""
    x, labels = scenes.batch(n, seed=HELD_OUT_SEED)
    out = {"retrieval": retrieval(model, tokenizer, x, labels),
           "relation_pairs": relation_pairs(model, tokenizer, x, labels)}
    if denoiser is not None:
        out[f"retrieval_x0_hat_t{t}"] = retrieval(model, tokenizer, x0_hat_at(denoiser, x, t), labels)
    return out
