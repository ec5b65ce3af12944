"""A page a teacher can hand out: one model draws, and shows its work (``python -m diffusion_course report``).

One standalone HTML file that opens offline, with no kernel: the annotated run in a viewer that plays
(``widgets.save_html``), when each fact of the drawings was decided (``analysis.commitment``), where forks
of the run disagree (``analysis.fork``), and what the recording cost. Pictures are inlined as PNG data,
the viewer's JavaScript is inlined: the page loads nothing from anywhere.
"""
from __future__ import annotations

import base64
import html
import io
import os
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from .. import shipped
from ..diffusion import checkpoints, guidance
from ..diffusion.samplers import sample
from ..words import clip
from . import analysis, plotting
from .trace import MB, annotate, estimate_bytes_per_step
from .widgets import save_html

CFG_SCALE = 3.0
FORK_AT = (0.2, 0.5, 0.8)  # forks at these fractions of the run
FORKS = 4  # continuations per fork


def check_out(path: str | Path, force: bool = False) -> Path:
    """The page's path, refused before any work when it cannot be written or would overwrite a file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give the page a file name, e.g. {path / 'report.html'}")
    if path.exists() and not force:
        raise ValueError(f"{path} exists; pass --force to overwrite it, or choose another --out")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write {path}: no permission to write there; choose another --out")
    return path


def png_tag(fig, alt: str) -> str:
    """A matplotlib figure as an inline <img> (PNG data, no file, no network)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def section(title: str, prose: str, *body: str) -> str:
    return f"<h3>{html.escape(title)}</h3>\n<p>{prose}</p>\n" + "\n".join(body)


def write(model_name: str, out: str | Path, prompt: str | None = None, n: int = 8, steps: int = 50, seed: int = 0,
          force: bool = False, progress=print) -> Path:
    """Draw ``n`` pictures with ``model_name`` (hearing ``prompt`` with classifier-free guidance, for a model
    that listens) and write the hand-out page to ``out``."""
    out = check_out(out, force)
    model = checkpoints.load_pretrained(model_name, "cpu")
    judge = checkpoints.load_pretrained("judge", "cpu")
    kwargs, said = {}, "no words (an unconditional model)"
    if prompt is not None:
        if not model.listens:
            raise ValueError(f"{model_name} does not listen to words: leave out --prompt, or use unet-words")
        words = clip.load()
        kwargs = {"prompt": clip.prompt(*words, prompt), "guide": guidance.ClassifierFree(CFG_SCALE)}
        said = f"&ldquo;{html.escape(prompt)}&rdquo;, classifier-free guidance {CFG_SCALE:g}"
    matplotlib.use("Agg")
    started = time.perf_counter()
    sample(model, n, 2, seed=seed, **kwargs)  # (a warm-up: the first run pays for allocations)
    plain = time.perf_counter()
    sample(model, n, steps, seed=seed, **kwargs)
    plain = time.perf_counter() - plain
    kinds = model.tap_kinds()
    heard = [name for name in model.default_taps() if kinds[name] == "words"] or \
        [name for name, kind in kinds.items() if kind == "words"][:1]  # which word lights up where
    taps = list(dict.fromkeys(model.default_taps() + heard))
    progress(f"recording {n} drawings of {model_name}, DDIM-{steps}, taps {', '.join(taps)}")
    recorded = time.perf_counter()
    trace = annotate(model, n, steps, seed=seed, taps=taps, **kwargs)
    recorded = time.perf_counter() - recorded

    progress("reading x0_hat at every step with the judge")
    over, final = (trace.x0_hat, trace.final) if len(trace) == steps else analysis.x0_hats(model, n, steps, seed,
                                                                                            **kwargs)
    decided = analysis.commitment(analysis.facts_over_steps(judge, over), analysis.held(judge, final),
                                  model.schedule.subsequence(steps))
    progress(f"forking the run at {len(FORK_AT)} steps, {FORKS} continuations each")
    forks = [analysis.fork(model, n, int(f * steps), FORKS, steps, seed, **kwargs) for f in FORK_AT]
    everything = estimate_bytes_per_step(model, model.tap_names(), n, guided="guide" in kwargs) * steps / MB

    committed = ", ".join(f"{name} at step {s}" if s is not None else f"{name} never"
                          for name, s in decided.step.items())
    more = "\n".join([
        section("When was the drawing decided?",
                f"The judge read the model's guess of the finished drawing, x̂₀, at every step of these {n} drawings. "
                f"A fact is <em>committed</em> at the first step from which x̂₀ agrees with the finished drawing in at "
                f"least {decided.share:.0%} of them: {html.escape(committed)}. (With {n} drawings these are "
                "rough; the course's benchmark reads 64 per team.)",
                png_tag(plotting.commitment_timeline(decided).figure, "commitment timeline")),
        section("Where was it unsure?",
                f"From the same dusty picture at step k, {FORKS} continuations with fresh noise; bright where their "
                "finished drawings disagree. Early forks disagree about what is drawn where, late ones only about "
                "details.", png_tag(plotting.fork_maps(forks, images=min(n, 6)), "fork disagreement maps")),
        section("What did the looking cost?",
                f"Plain sampling took {plain:.2f} s here; the annotated run {recorded:.2f} s "
                f"({recorded / plain:.2f}x), keeping {len(trace)} of {steps} steps of {len(taps)} taps in "
                f"{trace.nbytes / MB:.1f} MB (fp16). Every one of the model's {len(model.tap_names())} taps at every "
                f"step would need {everything:.0f} MB."),
        f"<p><small>{html.escape(model_name)} · {said} · seed {seed} · {shipped.machine()} · "
        f"{time.strftime('%Y-%m-%d %H:%M')} · made in {time.perf_counter() - started:.0f} s by "
        "python -m diffusion_course report</small></p>",
    ])
    return save_html(trace, out, title=f"{model_name} shows its work: {prompt or 'unconditional drawings'}",
                     more=more, **({"tap": heard[0]} if heard and prompt is not None else {}))
