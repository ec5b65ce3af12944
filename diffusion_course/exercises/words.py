"""Exercises of notebook 07 (the teacher's words): CLIP's logits from embeddings and a temperature, its
symmetric contrastive loss (checked against open_clip's own ``ClipLoss``), and top-1 retrieval."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..words import clip
from .core import check_function, exercise


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


# ----------------------------------------------------------------------------- 07 the teacher's words

def _sol_07_logits():
    def my_logits(image_emb, text_emb, temperature):
        image_emb = image_emb / image_emb.norm(dim=-1, keepdim=True)  # unit length: a dot product is a cosine
        text_emb = text_emb / text_emb.norm(dim=-1, keepdim=True)
        return image_emb @ text_emb.T / temperature  # (B, N): row i is image i against every caption
    return my_logits


def _embedding_cases():
    """Embeddings of very different lengths (as an encoder's raw outputs are), square and not."""
    g = torch.Generator().manual_seed(7)
    out = []
    for (B, N, D), temperature in (((5, 5, 16), 0.07), ((4, 6, 8), 0.01), ((8, 8, 64), 0.5)):
        lengths_i, lengths_t = 0.2 + 5 * torch.rand(B, 1, generator=g), 0.2 + 5 * torch.rand(N, 1, generator=g)
        out.append((lengths_i * _unit(torch.randn(B, D, generator=g)),
                    lengths_t * _unit(torch.randn(N, D, generator=g)), temperature))
    return out


@exercise("07.logits", _sol_07_logits)
def _check_07_logits(fn) -> bool:
    return check_function("07.logits", fn, _sol_07_logits(), _embedding_cases(),
                           "scale each embedding to length 1, take every image-caption dot product (a cosine), "
                           "then divide by the temperature",
                           mistakes={"the embeddings are not normalised: divide each by its length first, so "
                                     "that the dot products are cosines":
                                         lambda i, t, tau: i @ t.T / tau,
                                     "only the image embeddings are normalised; the captions' need it too":
                                         lambda i, t, tau: _unit(i) @ t.T / tau,
                                     "only the caption embeddings are normalised; the images' need it too":
                                         lambda i, t, tau: i @ _unit(t).T / tau,
                                     "the temperature is missing: cosines alone stay in [-1, 1], too flat for a "
                                     "softmax to pick the right caption":
                                         lambda i, t, tau: _unit(i) @ _unit(t).T,
                                     "the cosines are multiplied by the temperature; divide by it (a small τ "
                                     "sharpens)":
                                         lambda i, t, tau: _unit(i) @ _unit(t).T * tau,
                                     "rows and columns are swapped: row i should be image i against every caption":
                                         lambda i, t, tau: _unit(t) @ _unit(i).T / tau,
                                     "each embedding was normalised over the batch (dim=0); normalise each row "
                                     "(dim=-1), one embedding at a time":
                                         lambda i, t, tau: F.normalize(i, dim=0) @ F.normalize(t, dim=0).T / tau},
                           right="your logits match on all 3 test cases, with and without square batches.")


def _sol_07_clip_loss():
    def my_clip_loss(sim, scale):
        logits = scale * sim  # scale = 1 / temperature
        right = torch.arange(len(sim))  # image i's caption is caption i: the diagonal
        return (F.cross_entropy(logits, right) + F.cross_entropy(logits.T, right)) / 2  # images → captions, and back
    return my_clip_loss


def _open_clip_loss(sim: torch.Tensor, scale) -> torch.Tensor:
    """open_clip's own ``ClipLoss`` of a similarity matrix. ClipLoss takes features: with the identity as
    the text features, its logits are ``scale * sim`` (per image) and ``scale * sim.T`` (per caption)."""
    return clip.contrastive_loss()(sim, torch.eye(sim.shape[1]), scale)


def _sim_cases():
    """Cosine similarities of unit image and caption features, some pairs close, at several scales."""
    g = torch.Generator().manual_seed(70)
    out = []
    for B, D, scale in ((6, 16, 1 / 0.07), (8, 32, 100.0), (4, 8, 1.0)):
        image_f = _unit(torch.randn(B, D, generator=g))
        text_f = _unit(image_f + 0.8 * torch.randn(B, D, generator=g))  # each caption near its own image
        out.append((image_f @ text_f.T, scale))
    return out


def _ce(logits: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, torch.arange(len(logits)))


@exercise("07.clip_loss", _sol_07_clip_loss)
def _check_07_clip_loss(fn) -> bool:
    return check_function("07.clip_loss", fn, _open_clip_loss, _sim_cases(),
                           "multiply the similarities by the scale, take a cross-entropy whose right answer is the "
                           "diagonal along the rows (images → captions) and along the columns (captions → "
                           "images), and average the two",
                           mistakes={"one direction only (images → captions, the rows): CLIP also asks each "
                                     "caption to pick its image (the columns), and averages the two":
                                         lambda s, k: _ce(k * s),
                                     "one direction only (captions → images, the columns): CLIP also asks each "
                                     "image to pick its caption (the rows), and averages the two":
                                         lambda s, k: _ce(k * s.T),
                                     "the temperature is missing: multiply the similarities by the scale first":
                                         lambda s, k: (_ce(s) + _ce(s.T)) / 2,
                                     "the similarities are divided by the scale; the scale is 1/τ already, so "
                                     "multiply by it":
                                         lambda s, k: (_ce(s / k) + _ce(s.T / k)) / 2,
                                     "the two directions are added; average them":
                                         lambda s, k: _ce(k * s) + _ce(k * s.T)},
                           right="your loss equals open_clip's ClipLoss on all 3 test cases.")


def _sol_07_top1():
    def my_top1(sim):
        best = sim.argmax(dim=1)  # each image's most similar caption
        return (best == torch.arange(len(sim))).float().mean()  # the share that picked their own
    return my_top1


def _top1_cases():
    """Square similarity matrices with a diagonal that usually, not always, wins its row and its column
    (and row and column accuracies differ)."""
    g = torch.Generator().manual_seed(17)
    return [(torch.randn(B, B, generator=g) + boost * torch.eye(B),) for B, boost in ((16, 1.5), (10, 1.0), (32, 2.0))]


@exercise("07.top1", _sol_07_top1)
def _check_07_top1(fn) -> bool:
    return check_function("07.top1", fn, _sol_07_top1(), _top1_cases(),
                           "for each row (an image), find the column (a caption) with the largest similarity, and "
                           "count the share of rows where that is the diagonal",
                           mistakes={"the best image for each caption (argmax over the rows, dim=0): that is "
                                     "text → image; the question asks image → text":
                                         lambda s: (s.argmax(0) == torch.arange(len(s))).float().mean(),
                                     "a count of hits; divide by the number of images for a share":
                                         lambda s: (s.argmax(1) == torch.arange(len(s))).float().sum(),
                                     "the least similar caption (argmin); retrieval wants the most similar":
                                         lambda s: (s.argmin(1) == torch.arange(len(s))).float().mean(),
                                     "a percentage; the question asks for a share between 0 and 1":
                                         lambda s: 100 * (s.argmax(1) == torch.arange(len(s))).float().mean()},
                           right="your top-1 accuracy matches on all 3 test cases.")
