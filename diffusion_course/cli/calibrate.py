"""``calibrate``: the eye-calibration sets drawn as grids, to be labelled by eye (``judging.calibration``)."""
from __future__ import annotations

from pathlib import Path

from ..judging import calibration
from ..sketchbook import latent


def add(sub) -> None:
    c = sub.add_parser("calibrate", help="draw the eye-calibration sets and their grids, to be labelled by eye")
    c.add_argument("--seed", type=int, default=1234)
    c.add_argument("--out", required=True, help="folder for the grids and images (not data/: labels come by eye)")
    c.add_argument("--sets", nargs="+", choices=calibration.SETS, default=list(calibration.SETS), metavar="SET",
                   help=f"the sets to draw (default all: {', '.join(calibration.SETS)})")
    c.set_defaults(func=run)


def run(args) -> None:
    out = Path(args.out)
    sets = calibration.make(seed=args.seed, names=tuple(args.sets), draw=latent.draw)
    grids = calibration.write_grids(sets, out)
    path = calibration.save(sets, {name: [0] * calibration.PER_SET for name in sets}, out / "eye-sets.safetensors")
    print(f"wrote {', '.join(map(str, grids))} and {path} (labels all 0: label each grid by eye, "
          "then store the labels with calibration.save)")
