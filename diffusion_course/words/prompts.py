"""What a denoiser that listens reads of a sentence: a ``Prompt``.

The frozen tiny CLIP's text encoder (``clip.prompt`` makes one) reads a caption two ways, as text-to-image
models do (Saharia et al. 2022, Rombach et al. 2022):

* ``tokens`` (B, L, D): one vector per token after the text transformer; cross-attention reads these, so
  each place of the picture can listen to a different word ("which word lights up where");
* ``pooled`` (B, E): the unit caption embedding, added to the time embedding (GLIDE's pooled path).

``mask`` (B, L) marks the real tokens (start, words, end); the padding after the end token is never read.
The empty caption "" is the *null prompt*: a model trained with condition dropout draws unconditionally
from it, and classifier-free guidance compares the two (``guidance.ClassifierFree``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

# two readings of "" further apart than this (in any coordinate of the unit embedding) come from different text
# encoders: another tiny CLIP of the same shapes lands about 0.3 away; the shipped models match the shipped CLIP to 0.0
READER_TOLERANCE = 1e-2


def reader_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """How far apart two readings of "" are: the largest difference in any coordinate (compare with
    ``READER_TOLERANCE``)."""
    return (a - b.to(a)).abs().max().item()


@dataclass
class Prompt:
    texts: list[str]  # the sentences, one per row
    tokens: torch.Tensor  # (B, L, D) token vectors from the text transformer
    mask: torch.Tensor  # (B, L) bool, True for real tokens
    pooled: torch.Tensor  # (B, E) unit caption embeddings
    words: list[list[str]]  # each row's tokens as text ("<start>", "pup", ..., "<end>"), for display
    # (1, E) the reading of "" by the text encoder that read this prompt: which encoder it was, so that a model
    # trained to listen to another one can say so instead of drawing nonsense (None: not known)
    reader: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __repr__(self) -> str:
        return f"Prompt({self.texts[:2]}{' ...' if len(self) > 2 else ''}, {len(self)} rows)"

    def expand(self, n: int) -> Prompt:
        """This prompt for a batch of ``n`` images: one prompt is said to every image, or one per image."""
        if len(self) == n:
            return self
        if len(self) != 1:
            raise ValueError(f"{len(self)} prompts for {n} images: give one prompt for all, or one per image")
        return Prompt(self.texts * n, self.tokens.expand(n, -1, -1), self.mask.expand(n, -1),
                      self.pooled.expand(n, -1), self.words * n, self.reader)

    def cat(self, other: Prompt) -> Prompt:
        """Both prompts' rows, this one's first (classifier-free guidance's one batched pass)."""
        if self.reader is not None and other.reader is not None and \
                reader_gap(self.reader, other.reader) > READER_TOLERANCE:
            raise ValueError("these two prompts were read by different tiny CLIPs: read both with the same one")
        return Prompt(self.texts + other.texts, torch.cat([self.tokens, other.tokens]),
                      torch.cat([self.mask, other.mask]), torch.cat([self.pooled, other.pooled]),
                      self.words + other.words, self.reader if self.reader is not None else other.reader)

    def to(self, device: torch.device | str) -> Prompt:
        return Prompt(self.texts, self.tokens.to(device), self.mask.to(device), self.pooled.to(device), self.words,
                      None if self.reader is None else self.reader.to(device))

    def is_empty(self) -> bool:
        """True when every row is the empty caption (the null prompt)."""
        return all(not t.strip() for t in self.texts)
