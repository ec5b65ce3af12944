"""Frozen configuration dataclasses and named presets.

A model config says everything needed to rebuild a model (its shape *and* the
noise schedule it was trained for), so a checkpoint is a config plus weights.
A training config says how to train. Presets are plain named instances.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .scenes.labels import DESCRIPTION


@dataclass(frozen=True)
class UNetConfig:
    """Team CNN: a small U-Net (Ronneberger et al. 2015; Ho et al. 2020's variant)."""

    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)  # one entry per resolution level
    blocks: int = 2  # residual blocks per level on the way down (one more on the way up)
    attn_levels: tuple[int, ...] = (2,)  # levels (indices into channels) with self-attention
    heads: int = 4
    groups: int = 8  # GroupNorm groups
    cond_dim: int = 0  # size of an optional conditioning vector (0: unconditional; without words: a description)
    # words: the width and length of the prompt's token vectors read by cross-attention (0: no words).
    # Cross-attention sits beside every self-attention (attn_levels and the bottleneck).
    context_dim: int = 0
    context_len: int = 0
    schedule: str = "cosine"
    T: int = 1000
    # what the network's last layer says: "eps", the noise (Ho et al. 2020), or "v", the velocity
    # sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022), turned into the noise before it leaves
    # the model, so every sampler reads eps either way
    prediction: str = "eps"
    autoencoder: str = ""  # a latent model: the shipped autoencoder (data/NAME) whose latents it denoises
    kind: str = "unet"


@dataclass(frozen=True)
class DiTConfig:
    """Team Transformers: a small DiT (Peebles & Xie 2023) with optional U-ViT long skips."""

    image_size: int = 32
    in_channels: int = 3
    patch: int = 2
    width: int = 128
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    long_skips: bool = True  # U-ViT (Bao et al. 2023): shallow block i feeds deep block depth-1-i
    conv_out: bool = True  # a 3x3 conv after unpatchify smooths patch seams
    # channels of a 3x3 conv stem before the pieces are cut (0: none, each piece is read on its own as in DiT):
    # every piece then starts from pixels that saw their neighbours across its edges (Xiao et al. 2021)
    stem: int = 0
    # where each piece sits: "learned" (a table from small random numbers, as U-ViT) or "sincos" (fixed 2-D sines
    # and cosines of row and column, as DiT: neighbouring pieces start out alike, and nothing has to be learned)
    positions: str = "learned"
    cond_dim: int = 0
    context_dim: int = 0  # words: cross-attention in every block to the prompt's tokens (0: none)
    context_len: int = 0
    schedule: str = "cosine"
    T: int = 1000
    # what the network's last layer says: "eps", the noise (Ho et al. 2020), or "v", the velocity
    # sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0 (Salimans & Ho 2022), turned into the noise before it leaves
    # the model, so every sampler reads eps either way
    prediction: str = "eps"
    autoencoder: str = ""  # a latent model: the shipped autoencoder (data/NAME) whose latents it denoises
    kind: str = "dit"


@dataclass(frozen=True)
class TemplateConfig(UNetConfig):
    """No dust (notebook 06): the U-Net's backbone mapping a scene description straight to a picture, trained
    with a pixel loss. It learns the average of every scene that fits: a template (models/template.py)."""

    kind: str = "template"


@dataclass(frozen=True)
class JudgeConfig:
    """The scene judge's network (models/judge.py): a small CNN that reads scenes and rejects non-scenes."""

    width: int = 32
    image_size: int = 32
    spatial_width: int = 256  # the hidden layer the relation and geometry heads read from
    version: int = 2  # 1: presence, colour, phase and realism; 2: + relations and geometry (re-drawing)
    kind: str = "judge"


@dataclass(frozen=True)
class AutoencoderConfig:
    """The latent sketchbook (models/autoencoder.py): a small KL-regularised autoencoder (Rombach et al. 2022)."""

    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)  # one entry per resolution level; each level after the first halves
    latent_channels: int = 4
    groups: int = 8
    kind: str = "autoencoder"

    @property
    def latent_size(self) -> int:
        """The side of the latent grid: the image's, halved once per level after the first."""
        return self.image_size // 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class GANConfig:
    """A tiny GAN (Goodfellow et al. 2014) in DCGAN's shape (Radford et al. 2016), notebook 06's generator that
    collapses: a generator from z to a picture and a discriminator that tells drawn from real (models/gan.py)."""

    image_size: int = 32
    z_dim: int = 64
    width: int = 32  # channels at the finest level; each coarser level doubles them
    # DCGAN's generator has BatchNorm; ours leaves it out by default: a picture then depends on its own z alone
    # (no batch statistics, in training or in drawing), and the collapse measured is the generator's own
    batchnorm: bool = False
    kind: str = "gan"


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
    checkpoint_every: int = 250  # steps
    # models that listen (context_dim > 0): each scene's caption in a fresh phrasing, replaced by the
    # empty caption this often so that one model is both conditional and unconditional (Ho & Salimans 2022)
    cond_dropout: float = 0.15
    plain_share: float = 0.35  # captions said plainly, without colours and phases ("the pup in a rocket near the moon")
    unsaid_share: float = 0.0  # captions that leave near/far unsaid ("a rocket flying to the left of the moon")
    clip: str = "clip-scenes"  # the frozen tiny CLIP whose text encoder reads the captions (a folder in data/)
    init_from: str = ""  # start from a shipped model's weights (the new layers start as the identity)
    data: str = ""  # a folder of your own PNG/JPEG pictures to train on instead of the scenes ("": the scenes)


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
    """How the tiny CLIP is trained (clip.py); its shape is open_clip's config, ``clip.MODEL_CFG``."""

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


PRESETS: dict[str, object] = {
    "unet-tiny": UNetConfig(channels=(16, 32, 32), blocks=1),  # for tests and very quick demos
    "unet-small": UNetConfig(channels=(32, 64, 64), blocks=1),  # the notebooks' live run
    "unet-scenes": UNetConfig(),  # the shipped model
    "dit-tiny": DiTConfig(patch=4, width=32, depth=2, heads=2),  # for tests
    "dit-small": DiTConfig(patch=4, width=96, depth=4, heads=4),  # notebook 05's live run
    "dit-scenes": DiTConfig(),  # Team Transformers, the shipped model
    # models that listen: the shipped shapes plus cross-attention to the tiny CLIP's tokens (width 64,
    # context 24) and its pooled caption embedding (64) added to the time embedding
    "unet-words": UNetConfig(cond_dim=64, context_dim=64, context_len=24),
    "dit-words": DiTConfig(cond_dim=64, context_dim=64, context_len=24),
    "unet-words-tiny": UNetConfig(channels=(16, 32, 32), blocks=1, cond_dim=64, context_dim=64, context_len=24),
    "dit-words-tiny": DiTConfig(patch=4, width=32, depth=2, heads=2, cond_dim=64, context_dim=64, context_len=24),
    # bigger than a laptop: 64 x 64 pictures (scenes drawn at 64, or a folder of your own), one more level
    # (64 -> 32 -> 16 -> 8), self-attention at 16 x 16 and 8 x 8. Meant for a GPU.
    "unet-64": UNetConfig(image_size=64, channels=(64, 128, 128, 256), attn_levels=(2, 3)),
    # the latent sketchbook (notebook 09): Team CNN on ae-scenes' 8 x 8 x 4 latents. Wider than the pixel
    # U-Net (its grid is 16x smaller), self-attention at 8 x 8 and 4 x 4: a quarter of its FLOPs per step
    "latent-unet": UNetConfig(image_size=8, in_channels=4, channels=(64, 128), attn_levels=(0, 1),
                              autoencoder="ae-scenes"),
    # everyone draws the same (notebook 06): the live U-Net told a scene description (scenes.describe), and the
    # same backbone drawing a description straight away, without dust (a template)
    "unet-labels": UNetConfig(channels=(32, 64, 64), blocks=1, cond_dim=len(DESCRIPTION)),
    "template-labels": TemplateConfig(channels=(32, 64, 64), blocks=1, cond_dim=len(DESCRIPTION)),
    "unet-labels-tiny": UNetConfig(channels=(16, 32, 32), blocks=1, cond_dim=len(DESCRIPTION)),
    "template-labels-tiny": TemplateConfig(channels=(16, 32, 32), blocks=1, cond_dim=len(DESCRIPTION)),
    # time to quality (budgets.py): the shapes that did best per training TFLOP among those measured (bench/RESULTS.md)
    # its last layer says the velocity v (Salimans & Ho 2022), not the noise: on its recipe 32 % recognisable at 25
    # TFLOP and 74 % at 50 against 15 % and 45 % for eps (85 % and 87 % at 100; single runs, 2026-12-06 v in fp32 on
    # an AVX2 machine, eps in bf16 on an AVX-512 one: bench/RESULTS.md has the measured curve)
    "unet-fast": UNetConfig(channels=(24, 48, 48), blocks=1, prediction="v"),
    # dit-scenes' width and depth on 4 x 4 pieces (64 tokens instead of 256), told where each piece sits by fixed
    # sine-cosine positions, as in DiT: at 100 TFLOP 18 % recognisable against 5 % with learned ones (2026-11-29)
    "dit-fast": DiTConfig(patch=4, positions="sincos"),
    "latent-unet-tiny": UNetConfig(image_size=8, in_channels=4, channels=(16, 32), blocks=1, attn_levels=(1,),
                                   autoencoder="ae-scenes"),  # for tests and the notebook's live run
}

TRAIN_PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(steps=300, pool_size=4096, checkpoint_every=100),
    "unet-scenes": TrainConfig(steps=7000, lr=2e-3, warmup=200),
    "dit-scenes": TrainConfig(steps=5000, lr=1e-3, warmup=300),
    # fine-tuned from the shipped unconditional models on scene world 2 with captions
    # in a fifth of the captions of scenes with a rocket and a moon, near/far is left unsaid: without them
    # "a rocket flying to the left of the moon" drew no moon
    "unet-words-20k": TrainConfig(steps=8000, lr=1e-3, warmup=100, init_from="unet-scenes", unsaid_share=0.2),
    # then on fresh scenes, twice, each a short cosine from a lower peak: 100,000 new scenes, then 200,000 more
    # (each scene seen a few times instead of 25). Mean composition on the challenge at scale 5, 128 drawings a
    # prompt: 87 % after the first stage, 89 % after the second, 91 % after the third (2026-12-04)
    "unet-words-100k": TrainConfig(steps=4000, lr=4e-4, warmup=100, init_from="unet-words-20k", unsaid_share=0.2,
                                   pool_size=100000, seed=1),
    "unet-words": TrainConfig(steps=4000, lr=3e-4, warmup=100, init_from="unet-words-100k", unsaid_share=0.2,
                              pool_size=200000, seed=2),
    "dit-words": TrainConfig(steps=2500, lr=7e-4, warmup=100, init_from="dit-scenes"),
    "unet-64": TrainConfig(steps=20000, lr=1e-3, warmup=500, checkpoint_every=1000),
    "latent-unet": TrainConfig(steps=6000, lr=1e-3, warmup=200),
    # everyone draws the same (notebook 06): the live U-Net (unet-small) on 16, 64 or 1,024 scenes, same steps
    **{f"memo-{n}": TrainConfig(steps=1500, pool_size=n, checkpoint_every=250) for n in (16, 64, 1024)},
    # told a description, with and without dust: the same steps of the same backbone
    "unet-labels": TrainConfig(steps=3000, warmup=100, cond_dropout=0.1),
    "template-labels": TrainConfig(steps=3000, warmup=100, cond_dropout=0.1),
    # time to quality (budgets.py): each recipe spends 100 TFLOP of training (steps x its step's FLOPs at its batch),
    # its cosine decay sized to that. Chosen from 50-100 TFLOP runs of 128 probe drawings each (bench/RESULTS.md
    # has the chosen ones): on unet-small's shape Min-SNR gamma 2 beat 5, 1 and 0 (0 far behind); of widths
    # (16|24|32|unet-scenes) the 24-wide U-Net did best by 50 TFLOP; the DiT on 4 x 4 pieces beat dit-scenes' 2 x 2
    "unet-fast": TrainConfig(steps=4984, batch_size=32, lr=2e-3, warmup=50, min_snr_gamma=2.0),
    # the DiT learns more from more, smaller steps: at 100 TFLOP batch 16 read 25 % against batch 32's 18 % (batch 8
    # at lr 1e-3: 14 %; a 192-wide, 4-deep DiT at batch 32: 7 %), rates of single runs (2026-11-29)
    "dit-fast": TrainConfig(steps=11643, batch_size=16, lr=2e-3, warmup=100),
}


# the latent sketchbook: 32 x 32 x 3 scenes squeezed to 8 x 8 x 4 latents (12x fewer numbers), or to 16 x 16 x 4 (3x)
AUTOENCODER_PRESETS: dict[str, AutoencoderConfig] = {
    "ae-scenes": AutoencoderConfig(channels=(32, 64, 64)),
    "ae-scenes-16": AutoencoderConfig(channels=(32, 64)),
}


def preset(name: str):
    """A model config by preset name, with a clear error listing the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown model preset {name!r}; known presets: {', '.join(PRESETS)}") from None


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(d: dict):
    """Rebuild a model config from ``to_dict`` output (tuples restored)."""
    kinds = {"unet": UNetConfig, "dit": DiTConfig, "judge": JudgeConfig, "autoencoder": AutoencoderConfig,
             "template": TemplateConfig, "gan": GANConfig}
    kind = d.get("kind")
    if kind not in kinds:
        raise ValueError(f"unknown model kind {kind!r} in config; known kinds: {', '.join(kinds)}")
    cls = kinds[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"config has fields {sorted(unknown)} that {cls.__name__} does not know; "
                         "was the file written by a newer version of diffusion_course?")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
