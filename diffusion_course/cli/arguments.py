"""The command line's shared pieces: an argparse ``Parser`` whose own errors take one line, ``number`` (a checked
numeric argument), ``--force`` (the one way to write over a shipped file), ``command_line`` (this invocation, for a
card) and ``run_command``, which turns bad input into one line, ``error: ...``, and exit status 2."""
from __future__ import annotations

import argparse
import math
import shlex
import sys

from .. import shipped

ERRORS = (KeyError, ValueError, FileNotFoundError, shipped.CheckpointError)  # bad input, said in one line


class Parser(argparse.ArgumentParser):
    """argparse, with its own errors (a bad choice, a missing value) in the same one-line form."""

    def error(self, message: str):
        print(f"error: {message} (see: {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def number(kind: type, low: float, high: float = math.inf, above: bool = False):
    """An argparse type: a ``kind`` (int or float) from ``low`` (or above it, if ``above``) to ``high``.
    Checked while parsing, so a bad value stops the command before anything is trained or written."""
    def parse(text: str):
        value = kind(text)  # not a number: argparse says "invalid int value"
        if not low <= value <= high or (above and value == low):  # (NaN fails the first test)
            allowed = f"above {low:g}" if above else f"at least {low:g}"
            allowed += f" and at most {high:g}" if high < math.inf else ""
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def add_force(p: argparse.ArgumentParser) -> None:
    """``--force`` for a command that writes weights (``shipped.refuse_to_replace`` reads it)."""
    p.add_argument("--force", action="store_true",
                   help="write over a shipped file in data/ (the notebooks load it); without it the command "
                        "stops before training and writes nothing")


def command_line(processes: int = 1) -> str:
    """This invocation, as a command to paste into a shell (recorded in cards); under ``torchrun``, with it."""
    launch = f"torchrun --nproc-per-node {processes}" if processes > 1 else "python"
    return f"{launch} -m diffusion_course " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_command(args: argparse.Namespace) -> None:
    """Run the command ``args`` chose; bad input prints one line and exits with status 2 (``--debug``: the
    traceback instead)."""
    try:
        args.func(args)
    except ERRORS as e:
        if args.debug:
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e  # KeyError's str() adds quotes
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
