"""Training a denoiser: predict the noise (Ho et al. 2020, Algorithm 1).

    x_0 ~ scenes,  t ~ U{0..T-1},  eps ~ N(0, I)
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps
    loss = w(t) || eps - eps_theta(x_t, t) ||^2

with Min-SNR-gamma weighting w(t) = min(SNR(t), gamma) / SNR(t) (Hang et al. 2023), which stops the nearly-clean
steps from dominating. AdamW with warm-up and cosine decay, gradient clipping, and an EMA of the weights whose decay
warms up (an EMA with a fixed 0.999 decay would still carry the random initial weights after a thousand steps).
A learner's own loss (``loss_fn``, notebook 02) can stand in for ``loss_at``; everything around it stays.

A model that listens (text-conditioned) learns from each scene's caption, said in a fresh phrasing
each step and read by the frozen tiny CLIP (``clip.prompt``); a *described* model (notebook 06) from each
scene's description; ``cond_dropout`` of them say nothing, so the same model also draws unconditionally, as
classifier-free guidance needs (Ho & Salimans 2022). What each is told: ``telling``. A model that listens can
start from a shipped unconditional one (``init_from``): its new layers (cross-attention, the caption's path into
the time embedding) start as the identity.

Runs are seeded and resumable: ``state.safetensors`` in the run folder (``run_state``) holds weights, EMA, optimiser
moments, RNG state and the loss history; a resumed run continues exactly.

The same code trains under ``torchrun`` on several processes (``distributed``): each copy trains on its
own rows of the same global batch and DistributedDataParallel averages their gradients; only rank 0
writes. ``cfg.data`` names a folder of your own pictures to train on instead of the scenes (``pools``).
A DiT can read only a random share of each picture's pieces (``cfg.mask_ratio``: MaskDiT, ``masking``).
Its early tokens can be pulled toward a frozen encoder's features (``cfg.align``: REPA, ``alignment``): it descends
L_denoise + lambda L_REPA, and ``trainer.losses`` stay the denoising loss alone.

A ``probe`` (e.g. ``metrics.probe``) can measure the EMA every ``probe_every`` steps; its results form
``trainer.curve``, quality against steps and training seconds.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import config as config_mod
from .. import scenes, shipped
from ..config import TrainConfig
from ..models import build
from ..pools import FolderPool, ImagePool, LatentPool
from ..precision import resolve_precision
from ..scenes import ScenePool
from ..words import clip
from . import alignment, checkpoints, distributed, masking, run_state, telling


def mean_tail(values: list[float], n: int) -> float:
    """The mean of the last ``n`` values (of all of them when there are fewer; nan when there are none)."""
    tail = values[-n:]
    return sum(tail) / len(tail) if tail else float("nan")


def min_snr_weight(snr: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weight for epsilon-prediction: min(SNR, gamma) / SNR."""
    if gamma <= 0:
        return torch.ones_like(snr)
    return snr.clamp(max=gamma) / snr


LR_FLOOR = 0.05  # the cosine decay ends at this share of the peak, not at 0: the last steps still learn
EMA_WARMUP = 10  # the EMA's decay is min(ema_decay, (1 + step) / (EMA_WARMUP + step)): early weights fade fast


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``LR_FLOOR`` of the peak at ``cfg.steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * p)))


class Trainer:
    """Trains one model; ``trainer.ema`` is the model to sample from. Under ``torchrun`` it is one of the
    copies that train together (``trainer.world``)."""

    def __init__(self, model_config, cfg: TrainConfig = TrainConfig(), run_dir: str | Path | None = None,
                 device: str | torch.device | None = None, pool: ImagePool | None = None, progress: bool = True,
                 probe: Callable[[torch.nn.Module], dict] | None = None, probe_every: int = 0,
                 loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Generator], torch.Tensor] | None = None):
        if isinstance(model_config, str):
            model_config = config_mod.preset(model_config)
        self.model_config, self.cfg = model_config, cfg
        self.world = distributed.world()
        self.device = torch.device(device) if device else distributed.device(self.world)
        distributed.join(self.world, self.device)
        self.run_dir = Path(run_dir) if run_dir else None
        self.progress = progress and self.world.main
        self.probe, self.probe_every = probe, probe_every
        self.loss_fn = loss_fn  # a learner's own loss(model, x0, generator) (notebook 02), instead of ``loss_at``
        torch.manual_seed(cfg.seed)
        self.model = build(model_config).to(self.device)
        self.words = None  # (the frozen tiny CLIP, its tokenizer) for a model that listens
        if self.model.listens:
            self.words = clip.load(shipped.DATA_DIR / cfg.clip, self.device)
            self.model.set_null_prompt(clip.prompt(*self.words, [""]).to(self.device))
        if cfg.init_from:
            self.start_from(cfg.init_from)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.alignment = alignment.build(self.model, cfg, self.device)  # REPA: a frozen encoder and a projector
        self.nets = {"model": self.model, "ema": self.ema}  # the networks a run's state holds
        if self.alignment:  # the projector trains beside the model (a second group of the AdamW), saved with it
            self.opt.add_param_group({"params": list(self.alignment.projector.parameters())})
            self.nets["align"] = self.alignment.projector
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.autocast_dtype = resolve_precision(cfg.precision, self.device)
        self.step, self.losses, self.elapsed, self.curve = 0, [], 0.0, []
        self.schedule = self.model.schedule
        self.weight = min_snr_weight(self.schedule.snr.float(), cfg.min_snr_gamma).to(self.device)
        masking.check(self.model, cfg)
        if loss_fn and (self.model.listens or self.model.described or self.alignment or cfg.mask_ratio):
            raise ValueError("a loss of your own trains only an unconditional model, unaligned and unmasked")
        if (self.model.listens or self.model.described) and cfg.data:
            raise ValueError(f"a folder of pictures has no captions or descriptions: train an unconditional preset "
                             f"on {cfg.data}, not a {model_config.kind} that is told what to draw")
        self.pool = pool if pool is not None else self.draw_pool()
        self.phrasings = [scenes.phrasings(lab) for lab in self.pool.labels] if self.model.listens else None
        self.loose = [scenes.loose(lab) for lab in self.pool.labels] if self.model.listens and cfg.unsaid_share \
            else None
        self.facts = [scenes.facts(lab) for lab in self.pool.labels] if self.model.described else None
        if run_state.exists(self.run_dir):
            self.load_state()
        self.net = self.model  # what the loss runs: the model, or DDP around it while ``run`` trains

    def draw_pool(self) -> ImagePool | LatentPool:
        """What to train on: the scenes, or a folder of pictures (``cfg.data``); for a latent model (its config
        names an autoencoder), those pictures encoded into the sketchbook once, up front."""
        cfg, ae = self.cfg, None
        size = self.model_config.image_size
        if getattr(self.model_config, "autoencoder", ""):
            ae = checkpoints.autoencoder_of(self.model_config, self.device)
            size = ae.config.image_size
        pool = (FolderPool(cfg.data, size, self.progress) if cfg.data else
                ScenePool(cfg.pool_size, seed=cfg.seed, progress=self.progress, size=size))
        return LatentPool(pool, ae, progress=self.progress) if ae is not None else pool

    def start_from(self, name: str) -> None:
        """Copy a shipped model's weights into ours; only the layers it lacks (the words) keep their init."""
        source, ours = checkpoints.load_pretrained(name, self.device).state_dict(), self.model.state_dict()
        missing, unexpected = [k for k in ours if k not in source], [k for k in source if k not in ours]
        reshaped = [k for k in source if k in ours and source[k].shape != ours[k].shape]
        new = [k for k in missing if ".cross." in k or k.startswith(("null_", "time.cond."))]
        lacks = sorted(set(missing) - set(new))
        if unexpected or reshaped or lacks:
            why = [f"{what} {keys[:3]}" for what, keys in (("it lacks", lacks), ("it has extra", unexpected),
                                                          ("it has other shapes of", reshaped)) if keys]
            raise shipped.CheckpointError(f"{name} does not fit this model's shape ({'; '.join(why)}); start from "
                                          "a model of the same shape or drop init_from")
        # the null prompt stays the one of the CLIP this run listens to (the source may have listened to another)
        self.model.load_state_dict({k: v for k, v in source.items() if not k.startswith("null_")}, strict=False)

    # ---------------------------------------------------------------- one step
    def captions(self, idx: torch.Tensor) -> list[str]:
        """What a model that listens is told of the pool's scenes ``idx`` this step (``telling.captions``)."""
        return telling.captions(idx, self.phrasings, self.loose, self.cfg, self.generator)

    def descriptions(self, idx: torch.Tensor) -> torch.Tensor:
        """What a described model is told of the pool's scenes ``idx`` this step (``telling.descriptions``)."""
        return telling.descriptions(idx, self.facts, self.cfg, self.generator)

    def noise(self, shape: torch.Size) -> tuple[torch.Tensor, torch.Tensor]:
        """Steps t ~ U{0..T-1} (B,) and noise eps ~ N(0, I) for a batch of ``shape``, from the trainer's generator."""
        g = self.generator
        return torch.randint(0, self.schedule.T, (shape[0],), generator=g), torch.randn(shape, generator=g)

    def loss(self, x0: torch.Tensor, prompt=None, cond=None) -> torch.Tensor:
        """The weighted denoising loss on a batch of clean images (B, C, H, W) (and, for a model that listens,
        their ``prompts.Prompt``; for a described one, their descriptions ``cond``)."""
        t, eps = self.noise(x0.shape)
        return self.loss_at(x0, t.to(self.device), eps.to(self.device), prompt, cond)

    def loss_at(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, prompt=None, cond=None,
                keep: torch.Tensor | None = None) -> torch.Tensor:
        """The weighted loss for given steps ``t`` (B,) and noise ``eps``: w(t) ||eps - eps_theta(x_t, t)||^2; with
        ``keep`` (B, K), the pieces a DiT reads (``masking``), the mean is over their pixels only."""
        x_t = self.schedule.q_sample(x0, t, eps)  # q(x_t | x_0)
        masked = {} if keep is None else {"keep": keep}  # (only a DiT drops pieces)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.bfloat16,
                            enabled=self.autocast_dtype is not None):
            eps_hat = self.net(x_t, t, cond=cond, prompt=prompt, **masked)
        sq = F.mse_loss(eps_hat.float(), eps, reduction="none")  # (B, C, H, W)
        per_image = sq.mean(dim=(1, 2, 3)) if keep is None else masking.mean_over_kept(sq, keep, self.model)
        return (self.weight[t] * per_image).mean()

    def train_step(self) -> float:
        """One optimiser step. A step interrupted before its update (Ctrl-C, a copy that died) leaves no
        trace, not even in the generator, so the state saved after it resumes exactly."""
        cfg = self.cfg
        rng = self.generator.get_state()
        try:
            loss = self.backward()
        except BaseException:
            self.generator.set_state(rng)
            raise
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], cfg.grad_clip)
        self.opt.step()
        self.update_ema()
        self.step += 1
        self.losses.append(loss)
        return loss

    def backward(self) -> float:
        """Draw this step's batch, compute the loss and its gradients (averaged over the copies by DDP);
        the global batch's loss."""
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.step, cfg)
        # every copy draws the same global batch (world.size x batch_size) and keeps its own rows of it
        n, mine = cfg.batch_size * self.world.size, self.world.rows(cfg.batch_size)
        prompt = cond = None
        if self.model.listens or self.model.described:  # no random flips: a flip would swap left and right
            idx = torch.randint(len(self.pool), (n,), generator=self.generator)  # in the picture only
            x0 = pictures = self.pool[idx]  # (a latent model told what to draw does not align: ``alignment``)
            if self.model.listens:
                prompt = clip.prompt(*self.words, self.captions(idx)[mine]).to(self.device)
            else:
                cond = self.descriptions(idx)[mine].to(self.device)
        elif self.alignment:  # and the clean pictures (B, 3, H, W) the frozen encoder reads, of the same draws
            x0, pictures = self.pool.sample_pictured(n, generator=self.generator)
        else:
            x0 = self.pool.sample(n, generator=self.generator)
        if self.loss_fn is not None:  # the learner's loss draws its own t and eps from the trainer's generator
            with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
                loss = self.loss_fn(self.net, x0[mine].to(self.device), self.generator).float()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            return self.world.mean(loss.detach()).item()
        t, eps = self.noise(x0.shape)
        keep = masking.draw_keep(cfg, self.step, n, self.model, self.generator)  # (n, K); None: unmasked
        keep = keep if keep is None else keep[mine].to(self.device)
        aligned = alignment.aligned(cfg, self.step)  # REPA this step: hear block align_block's tokens
        with self.alignment.reading() if aligned else nullcontext([]) as tokens:
            loss = self.loss_at(*(v[mine].to(self.device) for v in (x0, t, eps)), prompt, cond, keep)
        repa = self.alignment.loss(tokens[0], pictures[mine].to(self.device), keep) if aligned else 0.0
        self.opt.zero_grad(set_to_none=True)
        (loss + cfg.align_weight * repa).backward()  # L_denoise + lambda L_REPA; the step reports L_denoise
        if aligned:
            self.alignment.share_grads(self.world)
        return self.world.mean(loss.detach()).item()

    @torch.no_grad()
    def update_ema(self) -> None:
        decay = min(self.cfg.ema_decay, (1 + self.step) / (EMA_WARMUP + self.step))
        for e, p in zip(self.ema.parameters(), self.model.parameters()):
            e.lerp_(p.detach(), 1 - decay)
        for e, b in zip(self.ema.buffers(), self.model.buffers()):
            e.copy_(b)

    # ---------------------------------------------------------------- the loop
    def run(self, steps: int | None = None, minutes: float | None = None) -> Trainer:
        """Train until ``steps`` total (default: the config's) or for ``minutes`` of wall time,
        checkpointing every ``checkpoint_every`` steps when there is a run folder."""
        target = steps if steps is not None else self.cfg.steps
        deadline = time.time() + 60 * minutes if minutes else None
        self.model.train()
        bar = tqdm(total=target, initial=self.step, desc="training", disable=not self.progress)
        self.net = self.world.wrap(self.model)
        try:
            while self.step < target and (deadline is None or time.time() < deadline):
                t0 = time.perf_counter()
                self.train_step()
                self.elapsed += time.perf_counter() - t0
                bar.update(1)
                if self.step % 10 == 0:  # the bar shows the mean of the last 50 losses, every 10 steps
                    bar.set_postfix(loss=f"{mean_tail(self.losses, 50):.4f}")
                if self.probe and self.probe_every and self.step % self.probe_every == 0 and self.world.main:
                    self.measure()
                if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:  # (0: at the end only)
                    self.save_state()
        finally:
            bar.close()
            self.net = self.model  # (DDP is let go here: it must not outlive the process group)
            self.save_state()
        return self

    def measure(self) -> dict:
        """Run the probe on the EMA now (its time is not counted as training time)."""
        point = {"step": self.step, "train_seconds": round(self.elapsed, 1), **self.probe(self.ema)}
        self.curve.append(point)
        return point

    # ---------------------------------------------------------------- resume
    def save_state(self) -> None:
        """Everything needed to resume exactly (``run_state``), by rank 0 only; nothing without a run folder."""
        if self.run_dir and self.world.main:
            run_state.save(self.run_dir, self.step, self.elapsed, self.model_config, self.cfg, self.nets,
                           {"opt": self.opt}, self.generator, losses=self.losses, curve=self.curve,
                           processes=self.world.size)

    def load_state(self) -> None:
        """Resume from the run folder: the same model config and settings, but for the batch, which may be split
        over another number of processes as long as the global batch stays the same."""
        meta = run_state.load(self.run_dir, self.model_config, self.cfg, self.nets, {"opt": self.opt}, self.generator,
                              self.device, (*run_state.RESUMABLE, "batch_size"))
        # N processes with batch b take the same steps as one with batch N b: the global batch must match
        processes, per_process = meta.get("processes", 1), meta["train_config"]["batch_size"]
        if processes * per_process != self.world.size * self.cfg.batch_size:
            raise shipped.CheckpointError(
                f"{self.run_dir / run_state.STATE} was trained with a global batch of {processes * per_process} "
                f"({processes} process(es) x batch {per_process}), this run has {self.world.size} x "
                f"{self.cfg.batch_size}; resume with the same global batch (e.g. one process with --batch-size "
                f"{processes * per_process}) or use a new --out folder")
        self.step, self.elapsed = meta["step"], meta["elapsed"]
        self.losses, self.curve = meta["losses"], meta.get("curve", [])


def train(model_config, cfg: TrainConfig = TrainConfig(), steps: int | None = None, minutes: float | None = None,
          **kwargs) -> Trainer:
    """Build a Trainer and run it; returns the trainer (``.ema`` to sample, ``.losses`` to plot)."""
    return Trainer(model_config, cfg, **kwargs).run(steps, minutes)
