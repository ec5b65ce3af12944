"""The levers that make Team Transformers draw (``bench --only levers``): which of the field's tricks help a small
DiT most per training FLOP, measured here rather than assumed.

Every published DiT is trained in an autoencoder's latent space, at budgets thousands of times ours; nothing
published trains a 2 M-parameter DiT in a few hundred TFLOP. So each lever below is one change to Team
Transformers' recipe, trained from scratch on scene world ``WORLD`` with its cosine decay sized to the largest
budget (``budgets.sized``), and read by the judge each time its training crosses a budget (``budgets.curve``):

- **pixel, v**: dit-scenes' shape on pixels (2 x 2 pieces, 256 tokens) saying the velocity (Salimans & Ho 2022),
  told where each piece sits by fixed sine-cosine positions; **pixel, patch 4, v**: the same with 4 x 4 pieces
  (64 tokens) on batches of 16, the pixel recipe that did best per TFLOP in the time-to-quality race (``dit-fast``);
- **latent, patch 1 / patch 2**: the same transformer on the autoencoder's 8 x 8 x 4 latents (Rombach et al. 2022),
  one latent cell a piece (64 tokens) or 2 x 2 cells (16 tokens);
- **+ alignment**: patch 1, an early block's tokens pulled toward the frozen judge's features of the clean picture
  (REPA, Yu et al. 2024; ``diffusion.alignment``);
- **+ masking**: patch 1, half of each training picture's pieces dropped (MaskDiT, Zheng et al. 2023;
  ``diffusion.masking``): a step costs about half, so twice as many fit in a budget;

and Team CNN in the same space (the latent U-Net's shape) as the yardstick. A lever's step costs what it costs:
alignment's encoder and projector are counted, masking's dropped pieces are not.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from ..config import PRESETS, TRAIN_PRESETS, DiTConfig, TrainConfig
from ..diffusion.cost import step_flops
from ..judging import metrics
from . import budgets

WORLD = 2  # the world every notebook draws from
BUDGETS = (25.0, 50.0, 100.0)  # TFLOP of training


@dataclass(frozen=True)
class Lever:
    """One row of the table: what it tries, the network, and the recipe (sized to the largest budget when run)."""

    says: str
    model: object  # a model config
    recipe: TrainConfig
    yardstick: bool = False  # Team CNN's row, beside the levers: not one of them
    tail: float = 0.0  # a masked recipe: the share of its steps that end it unmasked (MaskDiT's fine-tuning)

    def sized(self, tflop: float) -> TrainConfig:
        """The recipe with as many steps as spend ``tflop`` TFLOP (``budgets.sized``); a masked one ends with its
        unmasked tail, each of whose steps costs about twice a masked one."""
        cfg = self.recipe
        masked = step_flops(self.model, cfg)
        if not (cfg.mask_ratio and self.tail):
            return budgets.sized(cfg, masked, tflop)
        full = step_flops(self.model, dataclasses.replace(cfg, mask_ratio=0.0))
        cfg = budgets.sized(cfg, (1 - self.tail) * masked + self.tail * full, tflop)
        return dataclasses.replace(cfg, mask_until=math.floor((1 - self.tail) * cfg.steps))  # (spends >= tflop)


LATENT_DIT = PRESETS["latent-dit"]
LATENT_RECIPE = TRAIN_PRESETS["latent-dit"]
TINY = DiTConfig(image_size=8, in_channels=4, patch=1, width=32, depth=2, heads=2, positions="sincos",
                 prediction="v", autoencoder="ae-scenes")  # for tests and the quick bench
LEVERS: dict[str, Lever] = {
    "pixel, v": Lever("dit-scenes' shape on pixels (256 tokens), sine-cosine positions, the velocity",
                      dataclasses.replace(PRESETS["dit-scenes"], positions="sincos", prediction="v"),
                      TRAIN_PRESETS["dit-scenes"]),
    "pixel, patch 4, v": Lever("4 x 4 pieces (64 tokens) on batches of 16 (dit-fast's recipe), the velocity",
                               dataclasses.replace(PRESETS["dit-fast"], prediction="v"), TRAIN_PRESETS["dit-fast"]),
    "latent, patch 1": Lever("the same transformer on the autoencoder's 8 x 8 x 4 latents, a cell a piece "
                             "(64 tokens)", LATENT_DIT, LATENT_RECIPE),
    "latent, patch 2": Lever("2 x 2 cells a piece (16 tokens)", dataclasses.replace(LATENT_DIT, patch=2),
                             LATENT_RECIPE),
    "latent, patch 1 + alignment": Lever("block 1's tokens pulled toward the judge's features of the clean picture "
                                         "(REPA)", LATENT_DIT, dataclasses.replace(LATENT_RECIPE, align="judge")),
    "latent, patch 1 + masking": Lever("half of each picture's pieces dropped in training, the last tenth of the "
                                       "steps unmasked (MaskDiT)", LATENT_DIT,
                                       dataclasses.replace(LATENT_RECIPE, mask_ratio=0.5), tail=0.1),
    "latent U-Net (Team CNN)": Lever("the yardstick: Team CNN's latent U-Net in the same space",
                                     PRESETS["latent-unet"], TRAIN_PRESETS["latent-unet"], yardstick=True),
    "tiny": Lever("a tiny latent DiT (tests)", TINY, TrainConfig(steps=100, pool_size=256, warmup=10)),
    "tiny + masking": Lever("the tiny one, half its pieces masked (tests)", TINY,
                            TrainConfig(steps=100, pool_size=256, warmup=10, mask_ratio=0.5), tail=0.2),
    "tiny + alignment": Lever("the tiny one, aligned to the judge (tests)", TINY,
                              TrainConfig(steps=100, pool_size=256, warmup=10, align="judge")),
}


def measure(names: tuple[str, ...], judge, tflop: tuple[float, ...] = BUDGETS,
            probe_images: int = metrics.PROBE_IMAGES, probe_steps: int = 20, progress: bool = False,
            shown: Callable[[str, dict], None] | None = None) -> dict:
    """Each named lever trained from scratch, one after another, its recipe sized to the largest of ``tflop`` and
    read at every budget: ``{"world", "budgets", "probe_images", "probe_steps", "rows": {name: curve}}``;
    ``shown(name, row)`` hears each row as it ends."""
    unknown = [n for n in names if n not in LEVERS]
    if unknown:
        raise KeyError(f"unknown levers {unknown}; known: {', '.join(LEVERS)}")
    rows = {}
    for name in names:
        lever = LEVERS[name]
        rows[name] = {"says": lever.says, "yardstick": lever.yardstick,
                      **budgets.curve(lever.model, lever.sized(max(tflop)), judge, tflop, probe_images, probe_steps,
                                      progress=progress, world=WORLD)}
        if shown:
            shown(name, rows[name])
    return {"world": WORLD, "budgets": list(tflop), "probe_images": probe_images, "probe_steps": probe_steps,
            "rows": rows}


def best(table: dict, budget: float | None = None) -> tuple[str, float] | None:
    """The lever with the highest recognisable rate at ``budget`` (default: the largest), and that rate (the
    yardstick is not a lever; None when no lever was read there)."""
    budget = max(table["budgets"]) if budget is None else budget
    rates = {name: p["recognisable_rate"] for name, row in table["rows"].items() if not row["yardstick"]
             for p in row["points"] if p["budget"] == budget and p["tflop"] >= budget}
    return max(rates.items(), key=lambda kv: kv[1]) if rates else None
