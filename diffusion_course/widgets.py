"""ipywidgets viewers (the only module that imports ipywidgets). Display only.

Images are sent to the browser as PNGs enlarged with crisp pixels, so 32x32 scenes
stay readable. Sliders are linked to a Play button in the browser (jslink), so
playback needs no round-trips through the kernel.
"""
from __future__ import annotations

import io

import numpy as np
import torch

try:
    import ipywidgets as W
except ImportError as e:  # pragma: no cover - ipywidgets is pinned in requirements.txt
    raise ImportError("diffusion_course.widgets needs ipywidgets: run `make lab` (it installs everything)") from e

from . import plotting, schedules


def png(img: torch.Tensor | np.ndarray, scale: int = 6) -> bytes:
    """One image (C, H, W) in [-1, 1], or uint8 (H, W, C), as PNG bytes, enlarged ``scale`` x."""
    from PIL import Image

    arr = plotting.to_uint8(img) if isinstance(img, torch.Tensor) else img
    im = Image.fromarray(arr)
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="png")
    return buf.getvalue()


def image(img, scale: int = 6) -> W.Image:
    return W.Image(value=png(img, scale), format="png")


def player(n: int, description: str = "step", interval_ms: int = 150,
           readout: bool = True) -> tuple[W.Play, W.IntSlider, W.HBox]:
    """A Play button and a slider over 0..n-1, linked in the browser."""
    play = W.Play(min=0, max=n - 1, step=1, interval=interval_ms, description="Play")
    slider = W.IntSlider(min=0, max=n - 1, step=1, description=description, continuous_update=True,
                         readout=readout)
    W.jslink((play, "value"), (slider, "value"))
    return play, slider, W.HBox([play, slider])


def scene_browser(n: int = 64, seed: int = 0) -> W.VBox:
    """Flip through scenes with a slider; shows each scene with its caption and labels."""
    from . import scenes

    x, labels = scenes.batch(n, seed)
    _, slider, controls = player(n, "scene", 700)
    img = image(x[0], 8)
    text = W.HTML()

    def show(i: int) -> None:
        img.value = png(x[i], 8)
        lab = labels[i]
        text.value = (f"<b>{lab.caption}</b><br>objects: {', '.join(lab.objects) or 'none'}; "
                      f"stars: {len(lab.stars)}")

    slider.observe(lambda ch: show(ch["new"]), names="value")
    show(0)
    return W.VBox([controls, img, text])


def dust_slider(x0: torch.Tensor, names=("linear", "cosine"), seed: int = 0, stops: int = 101) -> W.VBox:
    """Dust one drawing (C, H, W) under several schedules; a slider (and Play) moves t.

    The same noise eps is used for every schedule, so only the schedule differs.
    """
    scheds = [schedules.get(n) for n in names]
    T = scheds[0].T
    ts = np.linspace(0, T - 1, stops).round().astype(int)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    frames = {n: [png(s.q_sample(x0[None], int(t), eps[None])[0]) for t in ts] for n, s in zip(names, scheds)}
    _, slider, controls = player(stops, "dust", 120, readout=False)
    panels = {n: W.Image(value=frames[n][0], format="png") for n in names}
    labels = {n: W.HTML() for n in names}

    def show(k: int) -> None:
        t = int(ts[k])
        for n, s in zip(names, scheds):
            panels[n].value = frames[n][k]
            ab = s.alpha_bar[t].item()
            labels[n].value = f"<b>{n}</b> t={t}<br>drawing √ᾱ={ab ** 0.5:.2f}, dust √(1−ᾱ)={(1 - ab) ** 0.5:.2f}"

    slider.observe(lambda ch: show(ch["new"]), names="value")
    show(0)
    cols = [W.VBox([panels[n], labels[n]]) for n in names]
    return W.VBox([controls, W.HBox(cols)])


def _panel_png(frame: torch.Tensor, scale: int) -> bytes:
    """An image (3, H, W) in [-1, 1] as is; a single map (H, W) as a heatmap."""
    if frame.ndim == 2:
        from matplotlib import colormaps

        f = frame.float()
        f = (f - f.min()) / (f.max() - f.min() + 1e-8)
        rgb = (colormaps["magma"](f.numpy())[..., :3] * 255).astype(np.uint8)
        return png(rgb, scale)
    return png(frame, scale)


class FramePlayer(W.VBox):
    """Play several stacks of frames side by side: {title: (S, 3, H, W) images or (S, H, W) maps}.

    ``captions[s]`` is shown under the panels at step s. Every frame is encoded once, up front.
    """

    def __init__(self, stacks: dict[str, torch.Tensor], captions=None, scale: int = 6, interval_ms: int = 200):
        lengths = {len(v) for v in stacks.values()}
        if len(lengths) != 1:
            raise ValueError(f"all stacks need the same number of frames, got {sorted(lengths)}")
        n = lengths.pop()
        self.frames = {k: [_panel_png(f, scale) for f in v] for k, v in stacks.items()}
        self.captions = list(captions) if captions is not None else [f"step {i}" for i in range(n)]
        self.play, self.slider, controls = player(n, "step", interval_ms)
        self.panels = {k: W.Image(value=v[0], format="png") for k, v in self.frames.items()}
        self.caption = W.HTML()
        cols = [W.VBox([W.HTML(f"<b>{k}</b>"), img]) for k, img in self.panels.items()]
        super().__init__([controls, W.HBox(cols), self.caption])
        self.slider.observe(lambda ch: self.show(ch["new"]), names="value")
        self.show(0)

    def show(self, i: int) -> None:
        for k, img in self.panels.items():
            img.value = self.frames[k][i]
        self.caption.value = self.captions[i]
