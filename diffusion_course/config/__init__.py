"""Frozen configuration dataclasses and named presets.

A model config says everything needed to rebuild a model (``config.models``: its shape *and* the noise schedule
it was trained for), so a checkpoint is a config plus weights. A training config says how to train
(``config.training``). Presets are plain named instances; ``to_dict`` and ``from_dict`` carry a model config
through JSON (a checkpoint's metadata, a run's state).
"""
from __future__ import annotations

import dataclasses

from ..scenes.labels import DESCRIPTION
from .models import AutoencoderConfig, DiTConfig, GANConfig, JudgeConfig, TemplateConfig, UNetConfig
from .training import AutoencoderTrainConfig, ClipTrainConfig, GANTrainConfig, JudgeTrainConfig, TrainConfig

__all__ = ["AUTOENCODER_PRESETS", "PRESETS", "TRAIN_PRESETS", "AutoencoderConfig", "AutoencoderTrainConfig",
           "ClipTrainConfig", "DiTConfig", "GANConfig", "GANTrainConfig", "JudgeConfig", "JudgeTrainConfig",
           "TemplateConfig", "TrainConfig", "UNetConfig", "from_dict", "preset", "to_dict"]

PRESETS: dict[str, object] = {
    "unet-tiny": UNetConfig(channels=(16, 32, 32), blocks=1),  # for tests and very quick demos
    "unet-small": UNetConfig(channels=(32, 64, 64), blocks=1),  # the notebooks' live run
    "unet-scenes": UNetConfig(),  # the shipped model
    "dit-tiny": DiTConfig(patch=4, width=32, depth=2, heads=2),  # for tests
    "dit-small": DiTConfig(patch=4, width=96, depth=4, heads=4),  # notebook 05's live run
    "dit-scenes": DiTConfig(),  # Team Transformers, the shipped model
    # models that listen: the shipped shapes plus cross-attention to the tiny CLIP's tokens (width 64,
    # context 24) and its pooled caption embedding (64) added to the time embedding. (dit-words, the pixel DiT
    # that listens, is a shape anyone may train; the shipped Team Transformers that listens is latent-dit-words)
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
    # Team Transformers in the sketchbook: dit-scenes' width and depth on ae-scenes' 8 x 8 x 4 latents, one latent
    # cell a piece (64 tokens, as DiT/2 reads its 32 x 32 latents in 256), sine-cosine positions, the velocity
    "latent-dit": DiTConfig(image_size=8, in_channels=4, patch=1, positions="sincos", prediction="v",
                            autoencoder="ae-scenes"),
    # Team Transformers that listens: latent-dit plus the words' paths of unet-words (cross-attention to the tiny
    # CLIP's 24 tokens of width 64, the pooled caption added to the time embedding)
    "latent-dit-words": DiTConfig(image_size=8, in_channels=4, patch=1, positions="sincos", prediction="v",
                                  autoencoder="ae-scenes", cond_dim=64, context_dim=64, context_len=24),
    # Team CNN that listens in the same sketchbook (for the fair pair of notebook 08's claims): latent-unet plus the
    # words' paths of unet-words
    "latent-unet-words": UNetConfig(image_size=8, in_channels=4, channels=(64, 128), attn_levels=(0, 1),
                                    autoencoder="ae-scenes", cond_dim=64, context_dim=64, context_len=24),
    "latent-unet-tiny": UNetConfig(image_size=8, in_channels=4, channels=(16, 32), blocks=1, attn_levels=(1,),
                                   autoencoder="ae-scenes"),  # for tests and the notebook's live run
    # notebook 02's live run, trained with the learner's own loss (lessons/live.py): twice latent-unet-tiny's width.
    # Of short runs in the sketchbook (2,000 steps of 32, 64 drawings judged, fp32), widths 16, 32 and 48 read 16-19,
    # 20-28 and 16 % recognisable, the shipped latent-unet's shape 17 % in 800 steps. Saying the velocity read a few
    # points more than the noise (23-28 % against 17 %), within 64 drawings' noise: it says the noise, as notebook 02
    # teaches (its first guess is "no dust", so its first loss is the mean weight, which the notebook checks)
    "latent-unet-live": UNetConfig(image_size=8, in_channels=4, channels=(32, 64), blocks=1, attn_levels=(1,),
                                   autoencoder="ae-scenes"),
    # notebook 05's live race in the sketchbook: latent-dit's choices (1 x 1 pieces, sine-cosine positions, the
    # velocity) at a width and depth a live race can afford
    "latent-dit-live": DiTConfig(image_size=8, in_channels=4, patch=1, width=96, depth=4, positions="sincos",
                                 prediction="v", autoencoder="ae-scenes"),
}

TRAIN_PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(steps=300, pool_size=4096, checkpoint_every=100),
    "unet-scenes": TrainConfig(steps=7000, lr=2e-3, warmup=200),
    "dit-scenes": TrainConfig(steps=5000, lr=1e-3, warmup=300),
    # fine-tuned from the shipped unconditional models on scene world 2 with captions
    # in a fifth of the captions of scenes with a rocket and a moon, near/far is left unsaid: without them
    # "a rocket flying to the left of the moon" drew no moon
    # (from the world-1 Team CNN, shipped as unet-scenes until its world-2 retrain took the name)
    "unet-words-20k": TrainConfig(steps=8000, lr=1e-3, warmup=100, init_from="unet-scenes-w1", unsaid_share=0.2),
    # then on fresh scenes, twice, each a short cosine from a lower peak: 100,000 new scenes, then 200,000 more
    # (each scene seen a few times instead of 25). Mean composition on the challenge at scale 5, 128 drawings a
    # prompt: 87 % after the first stage, 89 % after the second, 91 % after the third (2026-12-04)
    "unet-words-100k": TrainConfig(steps=4000, lr=4e-4, warmup=100, init_from="unet-words-20k", unsaid_share=0.2,
                                   pool_size=100000, seed=1),
    "unet-words": TrainConfig(steps=4000, lr=3e-4, warmup=100, init_from="unet-words-100k", unsaid_share=0.2,
                              pool_size=200000, seed=2),
    # Team Transformers that listens, under unet-words' rules: the same three stages (8,000 steps on 20,000 scenes,
    # then 4,000 on 100,000 and 4,000 on 200,000 fresh ones), the same peaks and the same fifth of loose captions,
    # from the unconditional latent-dit
    "latent-dit-words-20k": TrainConfig(steps=8000, lr=1e-3, warmup=100, init_from="latent-dit", unsaid_share=0.2),
    "latent-dit-words-100k": TrainConfig(steps=4000, lr=4e-4, warmup=100, init_from="latent-dit-words-20k",
                                         unsaid_share=0.2, pool_size=100000, seed=1),
    "latent-dit-words": TrainConfig(steps=4000, lr=3e-4, warmup=100, init_from="latent-dit-words-100k",
                                    unsaid_share=0.2, pool_size=200000, seed=2),
    # the same three stages for Team CNN in the sketchbook, from latent-unet
    "latent-unet-words-20k": TrainConfig(steps=8000, lr=1e-3, warmup=100, init_from="latent-unet", unsaid_share=0.2),
    "latent-unet-words-100k": TrainConfig(steps=4000, lr=4e-4, warmup=100, init_from="latent-unet-words-20k",
                                          unsaid_share=0.2, pool_size=100000, seed=1),
    "latent-unet-words": TrainConfig(steps=4000, lr=3e-4, warmup=100, init_from="latent-unet-words-100k",
                                     unsaid_share=0.2, pool_size=200000, seed=2),
    "unet-64": TrainConfig(steps=20000, lr=1e-3, warmup=500, checkpoint_every=1000),
    "latent-unet": TrainConfig(steps=6000, lr=1e-3, warmup=200),
    "latent-dit": TrainConfig(steps=16000, lr=1e-3, warmup=300, checkpoint_every=500),
    # notebook 02's live run (lessons/live.py): learning rate 4e-3 read 28 % against 2e-3's 20 % and 6e-3's 23 %
    "latent-unet-live": TrainConfig(steps=2000, batch_size=32, lr=4e-3, warmup=20, pool_size=2048, checkpoint_every=0),
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
