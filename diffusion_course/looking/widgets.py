"""ipywidgets viewers (the only module that imports ipywidgets). Display only.

Images are sent to the browser as PNGs enlarged with crisp pixels (``images.png``), so
32x32 scenes stay readable. Sliders are linked to a Play button in the browser (jslink),
so playback needs no round-trips through the kernel. What a viewer shows of a recorded
tap comes from ``Trace.frames``; ``save_html`` writes any viewer (or a Trace) as a page
that plays with no kernel and no network.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib
import numpy as np
import torch

try:
    import ipywidgets as W
except ImportError as e:  # pragma: no cover - ipywidgets is pinned in requirements.txt
    raise ImportError("diffusion_course.widgets needs ipywidgets: run `make lab` (it installs everything)") from e
from IPython import get_ipython
from IPython.display import display
from ipywidgets.embed import embed_data, escape_script
from PIL import Image, ImageDraw, ImageFont

from .. import scenes, schedules
from ..images import enlarge, png, tile
from .trace import Trace


def in_jupyter() -> bool:
    """True inside a Jupyter kernel, where widgets can render."""
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def require_jupyter(what: str = "this widget") -> None:
    if not in_jupyter():
        raise RuntimeError(f"{what} needs a running Jupyter kernel (open the course with `make lab`). "
                           "Outside Jupyter, write a page that plays anywhere with .save_html('trace.html'), "
                           "or draw still pictures with diffusion_course.plotting.")


def player(n: int, description: str = "step", interval_ms: int = 150,
           readout: bool = True) -> tuple[W.Play, W.IntSlider, W.HBox]:
    """A Play button and a slider over 0..n-1, linked in the browser."""
    play = W.Play(min=0, max=n - 1, step=1, interval=interval_ms, description="Play")
    slider = W.IntSlider(min=0, max=n - 1, step=1, description=description, continuous_update=True,
                         readout=readout)
    W.jslink((play, "value"), (slider, "value"))
    return play, slider, W.HBox([play, slider])


def scene_browser(n: int = 64, seed: int = 0) -> FramePlayer:
    """Flip through scenes with a slider (or Play); each scene with its caption and labels."""
    x, labels = scenes.batch(n, seed)
    captions = [f"<b>{scenes.caption(lab)}</b><br>objects: {', '.join(lab.objects) or 'none'}; stars: {len(lab.stars)}"
                for lab in labels]
    return FramePlayer({f"scenes of seed {seed}": x}, captions, scale=8, interval_ms=700)


def dust_slider(x0: torch.Tensor, names=("linear", "cosine"), seed: int = 0, stops: int = 51) -> FramePlayer:
    """Dust one drawing (C, H, W) under several schedules; a slider (and Play) moves t.

    The same noise eps is used for every schedule, so only the schedule differs.
    """
    scheds = [schedules.get(n) for n in names]
    ts = torch.linspace(0, scheds[0].T - 1, stops).round().long()
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).expand(stops, -1, -1, -1)
    frames = {n: s.q_sample(x0.expand(stops, -1, -1, -1), ts, eps) for n, s in zip(names, scheds)}
    captions = [f"t = {int(t)}: " + ", ".join(f"{n} keeps √ᾱ = {s.alpha_bar[t].item() ** 0.5:.2f} of the drawing"
                                              for n, s in zip(names, scheds)) for t in ts]
    return FramePlayer(frames, captions, interval_ms=120)


class FramePlayer(W.VBox):
    """Play several stacks of frames side by side: {title: (S, 3, H, W) images or (S, H, W) maps}.

    Every frame is encoded once, up front, into an ``ipywidgets.Stack`` per panel whose
    ``selected_index`` is jslinked to the step slider: playback runs in the browser, with no
    round-trips to the kernel, and keeps working in a page exported without a kernel.
    ``captions[s]`` is shown under the panels at step s.
    """

    def __init__(self, stacks: dict[str, torch.Tensor], captions=None, scale: int = 6, interval_ms: int = 200):
        lengths = {len(v) for v in stacks.values()}
        if len(lengths) != 1:
            raise ValueError(f"all stacks need the same number of frames, got {sorted(lengths)}")
        n = lengths.pop()
        captions = list(captions) if captions is not None else [f"step {i + 1}/{n}" for i in range(n)]
        if len(captions) != n:
            raise ValueError(f"{len(captions)} captions for {n} frames")
        self.play, self.slider, controls = player(n, "step", interval_ms, readout=False)
        self.stacks = {k: W.Stack([W.Image(value=png(f, scale), format="png") for f in v], selected_index=0)
                       for k, v in stacks.items()}
        caption = W.Stack([W.HTML(c) for c in captions], selected_index=0)
        for stack in [*self.stacks.values(), caption]:
            W.jslink((self.slider, "value"), (stack, "selected_index"))
        cols = [W.VBox([W.HTML(f"<b>{k}</b>"), st]) for k, st in self.stacks.items()]
        super().__init__([controls, W.HBox(cols), caption])


# ----------------------------------------------------------------------------- the trace viewer

PANEL_TITLES = {"x_t": "x_t (dusty)", "x0_hat": "x̂₀ (its guess)", "eps_hat": "ε̂ (noise guess)",
                "grads": "|gradient|", "decoded": "x̂₀ painted (decoded)", "guidance_grad": "|CLIP's push|",
                "cfg_delta": "|words' push| (ε̂_c − ε̂_u)"}
QUERY_KINDS = ("attention", "words")  # taps whose frames depend on a query: a place, or a word
# matplotlib's own DejaVu Sans (shipped with it, so always here): it has the Greek letters and the hats
LABEL_FONT = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), 11)


def _label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str) -> None:
    draw.text(xy, text, fill=(20, 20, 20), font=LABEL_FONT)


def filmstrip_png(traces, tap: str, b: int = 0, query=None, frames: int = 6, scale: int = 3,
                  names=None) -> bytes:
    """A labelled still picture of one or more traces (PNG bytes): for each trace a block of rows,
    x_t, x̂_0 and ``tap``, over a few steps; each row names its trace and panel, each column its step.
    A still of ε̂ looks like pure noise to the eye, so an ``"eps_hat"`` tap adds no row."""
    names = list(names) if names is not None else [f"run {i + 1}" for i in range(len(traces))]
    size = traces[0].final.shape[-1]  # (a latent model's x_t is smaller than its painted pictures)
    cell, margin, header = (size + 2) * scale, 150, 16
    rows_per_trace = ["x_t", "x0_hat"] + ([tap] if tap not in ("x_t", "x0_hat", "eps_hat") else [])
    idx = np.linspace(0, len(traces[0]) - 1, min(frames, len(traces[0]))).round().astype(int)
    sheet = Image.new("RGB", (margin + len(idx) * cell, header + len(traces) * len(rows_per_trace) * cell),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for k, s in enumerate(idx):
        _label(draw, (margin + k * cell + 2, 2), f"t = {traces[0].t[s]}")
    y = header
    for trace, name in zip(traces, names):
        for row in rows_per_trace:
            stack = trace.frames(row, b, query if trace.kinds.get(row) in QUERY_KINDS else None)
            for k, s in enumerate(idx):
                sheet.paste(enlarge(tile(stack[s], size), scale), (margin + k * cell, y))
            _label(draw, (4, y + cell // 2 - 6), f"{name}: {PANEL_TITLES.get(row, row)}")
            y += cell
    buf = io.BytesIO()
    sheet.save(buf, format="png")
    return buf.getvalue()


class TraceViewer(W.VBox):
    """Play an annotated sampling run: x_t, the model's guess x0_hat and one tap, step by step.

    ``compare``: a second Trace (another schedule, sampler or model) shown underneath, driven
    by the same controls. Step playback runs in the browser (Stack + jslink); choosing the
    image, the tap, the attention query or the word (for a cross-attention tap: which word lights up
    where) re-renders the frames (``Trace.frames``) in the kernel.
    """

    def __init__(self, trace: Trace, tap: str | None = None, image: int = 0, query=None, compare=None,
                 names=("A", "B"), scale: int = 5, interval_ms: int = 200):
        self.traces = [trace, *([compare] if compare is not None else [])]
        if compare is not None and len(compare) != len(trace):
            raise ValueError("compare needs a trace with the same number of recorded steps; "
                             "record both with the same steps and every")
        self.names = list(names[:len(self.traces)])
        # taps every trace recorded (two models share few or none), then the noise estimate (and gradients)
        shown = [name for name in trace.names()[2:] if all(name in tr.names() for tr in self.traces)]
        shown = [n for n in shown if n != "eps_hat"] + ["eps_hat"]
        tap = tap or shown[0]
        if tap not in shown:
            raise KeyError(f"tap {tap!r} was not recorded by every trace; choose one of {shown}")
        self.scale, n = scale, len(trace)
        self.play, self.slider, controls = player(n, "step", interval_ms, readout=False)
        B = trace.final.shape[0]
        self.image = W.Dropdown(options=list(range(B)), value=image, description="image")
        self.tap = W.Dropdown(options=shown, value=tap, description="tap")
        side = self._query_side(tap)
        self.row = W.IntSlider(min=0, max=max(side - 1, 0), value=side // 2, description="query row")
        self.col = W.IntSlider(min=0, max=max(side - 1, 0), value=side // 2, description="query col")
        self.word = W.Dropdown(description="word", layout=W.Layout(display="none"))
        if isinstance(query, tuple):
            self.row.value, self.col.value = query
        self._set_words(tap, image, query if isinstance(query, int) else None)
        self.stacks = [[W.Stack() for _ in range(3)] for _ in self.traces]  # filled by render()
        captions = [f"step {s + 1}/{trace.meta.get('total_steps', n)}, t = {t}" for s, t in zip(trace.steps, trace.t)]
        caption = W.Stack([W.HTML(c) for c in captions], selected_index=0)
        self.links = [W.jslink((self.slider, "value"), (stack, "selected_index"))
                      for stack in [*(s for row in self.stacks for s in row), caption]]
        self.titles = W.HTML()
        rows = [W.HBox([W.HTML(f"<b>{nm}</b>", layout=W.Layout(width="2.5em")), *row])
                for nm, row in zip(self.names, self.stacks)]
        self.query_box = W.HBox([self.row, self.col])
        super().__init__([controls, W.HBox([self.image, self.tap, self.word]), self.query_box, self.titles, *rows,
                          caption])
        for w in (self.image, self.tap):
            w.observe(lambda _: self._set_words(self.tap.value, self.image.value), names="value")
        for w in (self.image, self.tap, self.row, self.col, self.word):
            w.observe(lambda _: self.render(), names="value")
        self.render()

    def _set_words(self, tap: str, image: int, word: int | None = None) -> None:
        """The word menu of a cross-attention tap: the image's prompt, token by token (hidden otherwise)."""
        trace = self.traces[0]
        if trace.kinds.get(tap) != "words":
            self.word.layout.display = "none"
            return
        tokens = trace.words(image) or [str(i) for i in range(trace.taps[tap].shape[-1])]
        options = [(f"{i}: {w}", i) for i, w in enumerate(tokens)]
        value = word if word is not None else trace.loudest_word(tap, image)
        self.word.options = options
        self.word.value = value
        self.word.layout.display = "flex"

    def _query_side(self, tap: str) -> int:
        """Side of the token grid whose query the sliders choose (attention taps only, else 0)."""
        return self.traces[0].grid_side(tap) if self.traces[0].kinds.get(tap) == "attention" else 0

    @property
    def query(self):
        """The attention query (row, col), the chosen word's index for a cross-attention tap, else None."""
        if self.traces[0].kinds.get(self.tap.value) == "words":
            return self.word.value
        return (self.row.value, self.col.value) if self._query_side(self.tap.value) else None

    def render(self) -> None:
        """(Re)encode every frame for the current image, tap and query."""
        tap, b = self.tap.value, self.image.value
        side = self._query_side(tap)
        self.query_box.layout.display = "flex" if side else "none"
        if side and self.row.max != side - 1:
            self.row.max = self.col.max = side - 1
        kind = self.traces[0].kinds.get(tap)
        what = {"attention": f"where token {self.query} attends", "tokens": "mean |token| on the patch grid",
                "features": "mean |activation|", "words": f"where the picture listens to {self._word_name()}"
                }.get(kind, PANEL_TITLES.get(tap, tap))
        self.titles.value = f"x_t &nbsp;|&nbsp; x̂_0 &nbsp;|&nbsp; <b>{tap}</b>: {what}"
        size = self.traces[0].final.shape[-1]
        for trace, row in zip(self.traces, self.stacks):
            for stack, name in zip(row, ("x_t", "x0_hat", tap)):
                frames = trace.frames(name, b, self.query)
                scale = self.scale * size // frames.shape[-1]  # maps on coarser grids shown at image size
                stack.children = [W.Image(value=png(f, scale), format="png") for f in frames]
                stack.selected_index = self.slider.value

    def _word_name(self) -> str:
        label = {v: k for k, v in self.word.options}.get(self.word.value, "")
        return f"“{label.split(': ', 1)[-1]}”" if label else "a word"

    def _repr_mimebundle_(self, **kwargs):
        """The widget where widgets render; a labelled PNG filmstrip (and text) where they cannot."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(filmstrip_png(self.traces, self.tap.value, self.image.value,
                                                             self.query, names=self.names)).decode()
        bundle["text/plain"] = (f"TraceViewer: {len(self.traces[0])} steps, image {self.image.value}, "
                                f"tap {self.tap.value} (rows: x_t, x0_hat, tap; open in JupyterLab to play)")
        return bundle

    def show(self) -> None:
        """Display the viewer (in Jupyter; elsewhere a clear error saying what to do instead)."""
        require_jupyter("TraceViewer")
        display(self)

    def save_html(self, path) -> Path:
        """A standalone page that plays with no kernel (see ``save_html``)."""
        return save_html(self, path, title="diffusion_course trace")


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; background: #fafafa; }}
.widget-image {{ image-rendering: pixelated; }}
/* the icon font is not shipped: text glyphs for the Play widget's buttons */
.jupyter-widgets i.fa {{ font-family: sans-serif !important; font-style: normal !important; }}
.jupyter-widgets i.fa-play::before {{ content: "\\25B6" !important; }}
.jupyter-widgets i.fa-pause::before {{ content: "\\275A\\275A" !important; }}
.jupyter-widgets i.fa-stop::before {{ content: "\\25A0" !important; }}
.jupyter-widgets i.fa-repeat::before, .jupyter-widgets i.fa-sync::before,
.jupyter-widgets i.fa-retweet::before {{ content: "\\21BB" !important; }}
</style>
<!-- the bundle's loader looks for a script with a src to resolve its own path: give it one -->
<script src="data:text/javascript,"></script>
<script>{script}</script>
</head><body>
<h3>{title}</h3>
<p>Press &#9654; or drag the slider. This page needs no kernel and no network.</p>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
{more}
</body></html>
"""


def save_html(widget: W.Widget | Trace, path, title: str = "diffusion_course", more: str = "",
              **viewer_kwargs) -> Path:
    """Write ``widget`` (or a ``Trace``, shown in a ``TraceViewer`` made with ``viewer_kwargs``) as a
    standalone page with its state embedded: everything linked in the browser (jslink) keeps working
    with no kernel; the widget JavaScript is inlined (offline). ``more``: HTML to put below the viewer."""
    if isinstance(widget, Trace):
        widget = TraceViewer(widget, **viewer_kwargs)
    data = embed_data(views=[widget])
    script = (Path(__file__).parent / "static" / "html-manager-embed.js").read_text(encoding="utf-8")
    page = _PAGE.format(title=html.escape(title), script=script.replace("</script", "<\\/script"),
                        state=escape_script(json.dumps(data["manager_state"])),
                        view=escape_script(json.dumps(data["view_specs"][0])), more=more)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
