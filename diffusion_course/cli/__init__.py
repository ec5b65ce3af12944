"""Command line: ``python -m diffusion_course {train, sample, report, judge, autoencoder, gan, clip, calibrate,
bench} ...``, one module here per command (each ``add``s its sub-parser and the function it runs).

    python -m diffusion_course train --preset unet-scenes                 # -> runs/unet-scenes.* (weights, card, grid)
    python -m diffusion_course train --preset unet-64 --data my-drawings/ --out runs/class-64
    torchrun --nproc-per-node 2 -m diffusion_course train --preset unet-tiny --steps 20 --out runs/unet-tiny
    python -m diffusion_course sample --model unet-scenes -n 64 --out samples.png
    python -m diffusion_course judge                                      # -> runs/judge.*
    python -m diffusion_course clip                                       # -> runs/clip-scenes/
    python -m diffusion_course gan                                        # -> runs/gan-scenes.*
    python -m diffusion_course calibrate --out eye/
    python -m diffusion_course report --model unet-words --prompt "the pup sitting in a rocket" --out report.html
    python -m diffusion_course bench [--quick]
    python -m diffusion_course train --preset unet-scenes --out data/unet-scenes --force   # re-make a shipped model

A run goes to ``runs/NAME`` (ignored by git) unless ``--out`` says otherwise; ``train``, ``autoencoder``, ``gan``,
``clip`` and ``judge`` refuse to write over a shipped file in ``data/`` (the notebooks load them) unless given
``--force``, and say so before anything is trained. Bad input (an unknown preset or model, a missing checkpoint, a
value out of range) prints one line, ``error: ...``, and exits with status 2; ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

from . import autoencoder, bench, calibrate, clip, gan, judge, report, sample, train
from .arguments import Parser, run_command

COMMANDS = (train, sample, report, judge, autoencoder, gan, clip, calibrate, bench)  # in the order --help lists them


def parser() -> Parser:
    """The whole command line: ``--debug``, then one sub-parser per command."""
    p = Parser(prog="python -m diffusion_course", description="diffusion_course tools")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    run_command(parser().parse_args(argv))
