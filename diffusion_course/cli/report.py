"""``report``: one standalone page on which a model draws and shows its work (notebook 10; ``looking.handout``)."""
from __future__ import annotations

from ..looking import handout


def add(sub) -> None:
    r = sub.add_parser("report", help="write a standalone page: a model draws and shows its work (notebook 10)")
    r.add_argument("--model", default="unet-scenes", help="a shipped model name (unet-scenes, unet-words, ...)")
    r.add_argument("--prompt", help="what a model that listens should draw (classifier-free guidance 3)")
    r.add_argument("-n", type=int, default=8, help="drawings to record")
    r.add_argument("--steps", type=int, default=50, help="DDIM steps")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="report.html", help="the page to write")
    r.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    r.set_defaults(func=run)


def run(args) -> None:
    if args.n < 1 or args.steps < 2:
        raise ValueError(f"report needs -n >= 1 and --steps >= 2 (it forks the run), got -n {args.n}, "
                         f"--steps {args.steps}")
    path = handout.write(args.model, args.out, args.prompt, args.n, args.steps, args.seed, args.force)
    print(f"wrote {path}: open it in a browser (it needs no kernel and no network)")
