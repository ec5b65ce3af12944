"""How the latent sketchbook's autoencoder is trained (models/autoencoder.py).

    loss = mean over the batch of  L1(x, x_hat) + kl_weight * KL(q(z | x) || N(0, I))

both summed per image (Stable Diffusion's autoencoder, Rombach et al. 2022, without its adversarial and
perceptual terms: on our flat-coloured scenes the L1 term alone keeps edges crisp; the judge checks).
x_hat is decoded from a *sampled* z, so the decoder learns to paint from any latent near the mean.
AdamW with warm-up and cosine decay (``training.lr_at``); at the end the scale factor is set from
``scale_images`` scenes so that diffusion sees unit-variance latents.

Runs are seeded and resumable like the denoisers': ``state.safetensors`` in the run folder (``run_state``).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import AutoencoderConfig, AutoencoderTrainConfig
from ..diffusion import checkpoints, run_state
from ..diffusion.training import lr_at, mean_tail
from ..judging import metrics
from ..models import Autoencoder
from ..models.autoencoder import reconstruction_error
from ..precision import resolve_precision
from ..scenes import ScenePool

SCALE_SEED = 400  # the scenes that set the scale factor: apart from every training pool (seeds 0-300)


class AutoencoderTrainer:
    """Trains one autoencoder; ``trainer.ae`` is the result (its scale set by ``finish``)."""

    def __init__(self, model_config: AutoencoderConfig = AutoencoderConfig(),
                 cfg: AutoencoderTrainConfig = AutoencoderTrainConfig(), run_dir: str | Path | None = None,
                 device: str | torch.device | None = None, pool: ScenePool | None = None, progress: bool = True):
        self.model_config, self.cfg, self.progress = model_config, cfg, progress
        self.device = torch.device(device) if device else checkpoints.default_device()
        self.run_dir = Path(run_dir) if run_dir else None
        torch.manual_seed(cfg.seed)
        self.ae = Autoencoder(model_config).to(self.device)
        self.opt = torch.optim.AdamW(self.ae.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.autocast_dtype = resolve_precision(cfg.precision, self.device)
        self.pool = pool if pool is not None else ScenePool(cfg.pool_size, seed=cfg.seed, progress=progress,
                                                            size=model_config.image_size)
        self.step, self.elapsed, self.log = 0, 0.0, {"reconstruction": [], "kl": []}
        if run_state.exists(self.run_dir):
            self.load_state()

    def train_step(self) -> float:
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.step, cfg)
        x = self.pool.sample(cfg.batch_size, generator=self.generator).to(self.device)
        noise = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=self.generator)))
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.bfloat16,
                            enabled=self.autocast_dtype is not None):
            x_hat, q = self.ae(x, noise if self.device.type == "cpu" else None)
        rec, kl = reconstruction_error(x, x_hat).mean(), q.kl().float().mean()
        loss = rec + cfg.kl_weight * kl
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.ae.parameters(), 1.0)
        self.opt.step()
        self.step += 1
        per_pixel = rec.item() / x[0].numel()
        self.log["reconstruction"].append(per_pixel)
        self.log["kl"].append(kl.item())
        return per_pixel

    def run(self, steps: int | None = None, minutes: float | None = None) -> AutoencoderTrainer:
        target = steps if steps is not None else self.cfg.steps
        deadline = time.time() + 60 * minutes if minutes else None
        self.ae.train()
        bar = tqdm(total=target, initial=self.step, desc="training the autoencoder", disable=not self.progress)
        try:
            while self.step < target and (deadline is None or time.time() < deadline):
                t0 = time.perf_counter()
                self.train_step()
                self.elapsed += time.perf_counter() - t0
                bar.update(1)
                if self.step % 10 == 0:
                    bar.set_postfix(l1=f"{mean_tail(self.log['reconstruction'], 50):.4f}",
                                    kl=f"{mean_tail(self.log['kl'], 50):.0f}")
                if self.step % self.cfg.checkpoint_every == 0:
                    self.save_state()
        finally:
            bar.close()
            self.save_state()
        self.ae.eval()
        return self

    def finish(self) -> Autoencoder:
        """Set the scale factor from ``scale_images`` scenes the autoencoder never trained on; the result."""
        x = ScenePool(self.cfg.scale_images, seed=SCALE_SEED, size=self.model_config.image_size)
        self.ae.eval().set_scale(x[torch.arange(len(x))].to(self.device))
        return self.ae

    # ---------------------------------------------------------------- resume
    def save_state(self) -> None:
        if self.run_dir:
            run_state.save(self.run_dir, self.step, self.elapsed, self.model_config, self.cfg, {"model": self.ae},
                           {"opt": self.opt}, self.generator, log=self.log)

    def load_state(self) -> None:
        meta = run_state.load(self.run_dir, self.model_config, self.cfg, {"model": self.ae}, {"opt": self.opt},
                              self.generator, self.device)
        self.step, self.elapsed, self.log = meta["step"], meta["elapsed"], meta["log"]


# ----------------------------------------------------------------------------- how good is the sketchbook

def shrunk(x: torch.Tensor, side: int) -> torch.Tensor:
    """The baseline an autoencoder must beat: each scene shrunk to a ``side`` x ``side`` grid (area average)
    and enlarged back (bilinear): about as many numbers per scene as the latent, with no learning."""
    small = torch.nn.functional.interpolate(x, size=side, mode="area")
    return torch.nn.functional.interpolate(small, size=x.shape[-1], mode="bilinear", align_corners=False)


@torch.no_grad()
def validate(ae: Autoencoder, judge, n: int = 512) -> dict:
    """On ``n`` held-out scenes: the judge's recognisable rate of the scenes, of their reconstructions and of
    the shrunk baseline; mean L1 per pixel of both; the latents' standard deviation (1 after ``set_scale``)."""
    x = metrics.reference_scenes(n)[0]
    z = ae.encode(x)
    x_hat, base = ae.decode(z), shrunk(x, ae.config.latent_size)
    return {"held_out_scenes": n,
            "recognisable_real": metrics.recognisable_rate(judge, x),
            "recognisable_reconstructed": metrics.recognisable_rate(judge, x_hat),
            "recognisable_shrunk_baseline": metrics.recognisable_rate(judge, base),
            "l1_per_pixel": (x_hat - x).abs().mean().item(),
            "l1_per_pixel_shrunk_baseline": (base - x).abs().mean().item(),
            "latent_std": z.std().item(),
            "numbers_per_scene": {"image": x[0].numel(), "latent": z[0].numel()}}
