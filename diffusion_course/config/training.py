"""The training configs: how each network is trained (steps, batch, learning rate, seeds, precision, what it is
shown). Kept apart from the model configs: a checkpoint's model config rebuilds the network; the recipe is written
in its card, and a run resumes only with the recipe it was started with (``run_state.load``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GANTrainConfig:
    """How the GAN is trained (adversarial.py): the non-saturating loss, Adam with DCGAN's settings."""

    steps: int = 10000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    pool_size: int = 20000
    checkpoint_every: int = 500
    seed: int = 0


@dataclass(frozen=True)
class AutoencoderTrainConfig:
    """How the autoencoder is trained (autoencoding.py): reconstruction + a small KL term."""

    steps: int = 8000  # (ae-scenes: 4000 left 97.9 % of held-out reconstructions recognisable, 8000 98.2 %)
    batch_size: int = 64
    lr: float = 1e-3  # peak, after a linear warm-up; cosine decay
    warmup: int = 100
    # the KL term's weight against the reconstruction error, both summed per image (Stable Diffusion's
    # convention and its value, 1e-6): just enough to keep the latents from drifting, not a VAE's prior
    kl_weight: float = 1e-6
    pool_size: int = 20000
    scale_images: int = 2048  # scenes whose latents set the scale factor (unit variance)
    precision: str = "auto"
    checkpoint_every: int = 500
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig:
    """How to train a denoiser (epsilon-prediction, Ho et al. 2020, eq. 14)."""

    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    min_snr_gamma: float = 5.0  # Min-SNR loss weighting (Hang et al. 2023); 0 turns it off
    ema_decay: float = 0.999
    pool_size: int = 20000  # scenes drawn once and cached for training
    seed: int = 0
    precision: str = "auto"  # "fp32" | "bf16" | "auto" (bf16 only where the CPU does it natively)
    checkpoint_every: int = 250  # steps (0: only when the run ends)
    # models that listen (context_dim > 0): each scene's caption in a fresh phrasing, replaced by the
    # empty caption this often so that one model is both conditional and unconditional (Ho & Salimans 2022)
    cond_dropout: float = 0.15
    plain_share: float = 0.35  # captions said plainly, without colours and phases ("the pup in a rocket near the moon")
    unsaid_share: float = 0.0  # captions that leave near/far unsaid ("a rocket flying to the left of the moon")
    clip: str = "clip-scenes"  # the frozen tiny CLIP whose text encoder reads the captions (a folder in data/)
    init_from: str = ""  # start from a shipped model's weights (the new layers start as the identity)
    data: str = ""  # a folder of your own PNG/JPEG pictures to train on instead of the scenes ("": the scenes)
    # masked training (MaskDiT, Zheng et al. 2023; a DiT only, ``masking``): the share of each training image's
    # pieces dropped (MaskDiT: 0.5), and the step from which training runs unmasked (0: masked to the end)
    mask_ratio: float = 0.0
    mask_until: int = 0
    # representation alignment (REPA, Yu et al. 2024; a DiT only, ``alignment``): block ``align_block``'s tokens
    # (0-based) pulled toward a frozen encoder's features of the clean picture, weighted ``align_weight``
    align: str = ""  # the frozen encoder: "" none, "judge" the shipped judge's early blocks
    align_block: int = 1
    align_weight: float = 0.5  # lambda (REPA: 0.5)
    align_until: int = 0  # the step from which alignment is off (0: never): it helps early and can hurt late


@dataclass(frozen=True)
class JudgeTrainConfig:
    """How the judge is trained (judging.py). Kept apart from ``JudgeConfig`` as ``TrainConfig`` is kept
    apart from the denoisers' configs: a checkpoint's config rebuilds the network; the recipe is in its card."""

    steps: int = 4000
    batch_size: int = 128  # half real scenes, half non-scenes
    pool_size: int = 12000  # real scenes drawn once for the whole run
    lr: float = 2e-3  # peak of the one-cycle schedule
    warmup_fraction: float = 0.1  # share of the steps spent warming up (OneCycleLR's pct_start)
    weight_decay: float = 1e-4
    # negatives from a denoiser trained only briefly: blob-like near-scenes that a presence classifier
    # alone would accept
    undertrained_images: int = 512
    undertrained_steps: int = 120
    # that denoiser's recipe (its steps and seed are set where it is used): short and fast, on a small pool
    undertrained: TrainConfig = TrainConfig(batch_size=32, pool_size=1024, warmup=20, lr=3e-3)
    undertrained_sampling_steps: int = 20  # DDIM steps: its drawings are blobs whatever the sampler does
    geometry_weight: float = 1.0  # the geometry head's squared error (in units of 4 px) beside the other losses
    precision: str = "auto"  # bf16 autocast where the CPU does it natively (the judge reads in fp32)
    seed: int = 0


@dataclass(frozen=True)
class ClipTrainConfig:
    """How the tiny CLIP is trained (clip_training.py); its shape is open_clip's config, ``clip.MODEL_CFG``."""

    steps: int = 2500
    batch_size: int = 128
    lr: float = 2e-3  # peak, after a linear warm-up; cosine decay to 0
    warmup: int = 100
    weight_decay: float = 0.1
    pool_size: int = 16000  # scenes drawn once; each step says their captions in a fresh phrasing
    data_seed: int = 300  # far from the denoisers' (0), the judge's (100) and the held-out (200) scenes
    dusty_share: float = 0.3  # share of each batch noised (q(x_t|x_0), t <= dusty_t_max) or blurred
    dusty_t_max: int = 600
    hard_negative_weight: float = 1.0  # the relation-swap term beside ClipLoss
    # left <-> right as the hard negative this share of the time when a caption says a side (else the swap is
    # drawn at random among the relations a caption states, a rare lesson for left/right), and the phrasings
    # that leave near/far unsaid among the captions (scenes.loose). The CLIP shipped before 2026-11-29 had
    # 0.0 / False: it told left/right relation pairs apart 78 % of the time and heard "to the left of" and
    # "to the right of" as one sentence (cosine 0.9997); with these, 100 % (the card)
    side_negative_share: float = 0.5
    loose_captions: bool = True
    # bf16 autocast measured no faster at these widths (178 vs 179 ms a step at batch 128, AVX-512 bf16 CPU)
    precision: str = "fp32"
    seed: int = 0
