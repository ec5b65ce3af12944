"""Training the tiny GAN (notebook 06, experiment 2): a game that does not ask for every kind of scene.

Each step plays one round (Goodfellow et al. 2014, with the non-saturating generator loss of their section 3):

    D:  minimise  BCE(D(x), 1) + BCE(D(G(z)), 0)      tell the real scenes x from the drawn ones G(z)
    G:  minimise  BCE(D(G(z)), 1)                     draw what D takes for real

with Adam at DCGAN's settings (lr 2e-4, betas (0.5, 0.999); Radford et al. 2016). A ``probe``
(``metrics.probe`` with ``draw=sample``) reads the generator every ``probe_every`` steps; its points form
``trainer.curve``: recognisable rate, diversity and coverage against steps and training seconds, the curve
on which collapse shows (diversity falling while the judge still accepts the pictures).

Runs are seeded and resumable (``state.safetensors`` in the run folder), as the denoisers' are.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..config import GANConfig, GANTrainConfig
from ..diffusion import checkpoints, run_state
from ..models import build
from ..pools import ImagePool
from ..scenes import ScenePool


def sample(gan, n: int, steps: int = 0, seed: int = 0) -> torch.Tensor:
    """``draw(model, n, steps, seed)`` for ``metrics.probe``: a GAN draws in one pass (``steps`` is not used)."""
    del steps
    return gan.sample(n, seed)


class GANTrainer:
    """Trains one tiny GAN; ``trainer.gan`` draws (``gan.sample(n, seed)``)."""

    def __init__(self, model_config: GANConfig = GANConfig(), cfg: GANTrainConfig = GANTrainConfig(),
                 run_dir: str | Path | None = None, device: str | torch.device | None = None,
                 pool: ImagePool | None = None, progress: bool = True,
                 probe: Callable[[torch.nn.Module], dict] | None = None, probe_every: int = 0):
        self.model_config, self.cfg = model_config, cfg
        self.device = torch.device(device) if device else checkpoints.default_device()
        self.run_dir = Path(run_dir) if run_dir else None
        self.progress, self.probe, self.probe_every = progress, probe, probe_every
        torch.manual_seed(cfg.seed)
        self.gan = build(model_config).to(self.device)
        self.opt_g = torch.optim.Adam(self.gan.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.gan.discriminator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.pool = pool if pool is not None else ScenePool(cfg.pool_size, seed=cfg.seed, progress=progress)
        self.step, self.elapsed, self.log, self.curve = 0, 0.0, [], []
        if run_state.exists(self.run_dir):
            self.load_state()

    def train_step(self) -> dict:
        """One round: a discriminator step, then a generator step, on fresh real scenes and fresh z."""
        b, g = self.cfg.batch_size, self.generator
        real = self.pool.sample(b, generator=g).to(self.device)
        z = torch.randn(b, self.model_config.z_dim, generator=g).to(self.device)
        self.gan.train()
        fake = self.gan.generator(z)
        real_logit, fake_logit = self.gan.discriminator(real), self.gan.discriminator(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                  + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        fooled = self.gan.discriminator(fake)
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))  # non-saturating
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        out = {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
               "d_real": real_logit.sigmoid().mean().item(), "d_fake": fake_logit.sigmoid().mean().item()}
        self.log.append(out)
        return out

    def run(self, steps: int | None = None, minutes: float | None = None) -> GANTrainer:
        """Train until ``steps`` total (default: the config's) or for ``minutes`` of wall time, checkpointing
        every ``checkpoint_every`` steps when there is a run folder."""
        target = steps if steps is not None else self.cfg.steps
        deadline = time.time() + 60 * minutes if minutes else None
        bar = tqdm(total=target, initial=self.step, desc="GAN training", disable=not self.progress)
        try:
            while self.step < target and (deadline is None or time.time() < deadline):
                t0 = time.perf_counter()
                out = self.train_step()
                self.elapsed += time.perf_counter() - t0
                bar.update(1)
                if self.step % 10 == 0:
                    bar.set_postfix(d=f"{out['d_loss']:.2f}", g=f"{out['g_loss']:.2f}")
                if self.probe and self.probe_every and self.step % self.probe_every == 0:
                    self.measure()
                if self.step % self.cfg.checkpoint_every == 0:
                    self.save_state()
        finally:
            bar.close()
            self.save_state()
        return self

    def measure(self) -> dict:
        """Run the probe on the generator now (its time is not counted as training time)."""
        point = {"step": self.step, "train_seconds": round(self.elapsed, 1), **self.probe(self.gan)}
        self.curve.append(point)
        return point

    # ---------------------------------------------------------------- resume
    def save_state(self) -> None:
        if self.run_dir:
            run_state.save(self.run_dir, self.step, self.elapsed, self.model_config, self.cfg, {"model": self.gan},
                           self.optimizers(), self.generator, log=self.log, curve=self.curve)

    def load_state(self) -> None:
        meta = run_state.load(self.run_dir, self.model_config, self.cfg, {"model": self.gan}, self.optimizers(),
                              self.generator, self.device)
        self.step, self.elapsed, self.log, self.curve = meta["step"], meta["elapsed"], meta["log"], meta["curve"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The two optimisers, by the prefix each keeps its moments under in the run's state."""
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}
