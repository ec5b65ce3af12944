"""The annotated sampler: hooks in context managers, invariance, budgets, gradients, and the viewer."""
import base64
import io
import json

import pytest
import torch

from diffusion_course import build, sample
from diffusion_course.trace import MB, Trace, annotate, estimate_bytes_per_step, plan_steps, taps


@pytest.fixture(scope="module")
def model():
    m = build("unet-tiny")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # leave the zero init so that outputs and attention are not trivial
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return m.eval()


def hooks_attached(model):
    return sum(len(model.tap(n)._forward_hooks) for n in model.tap_names())


def test_taps_record_and_always_remove_their_hooks(model):
    with taps(model, ["down.0", "mid.attn"]) as seen:
        model(torch.randn(2, 3, 32, 32), 5)
        assert hooks_attached(model) == 2
    assert hooks_attached(model) == 0
    assert seen["down.0"].shape == (2, 16, 32, 32)
    assert torch.allclose(seen["mid.attn"].sum(-1), torch.ones(2, 4, 64), atol=1e-5)
    with pytest.raises(RuntimeError, match="boom"):
        with taps(model, ["mid"]):
            raise RuntimeError("boom")
    assert hooks_attached(model) == 0
    with pytest.raises(KeyError, match="unknown taps"):
        with taps(model, ["nope"]):
            pass


@pytest.mark.parametrize("sampler,eta", [("ddim", 1.0), ("ddim", 0.0), ("ddpm", 0.0)])
def test_recording_does_not_change_the_samples(model, sampler, eta):
    plain = sample(model, 3, steps=8, sampler=sampler, eta=eta, seed=4)
    trace = annotate(model, 3, steps=8, sampler=sampler, eta=eta, seed=4, taps_=model.tap_names(), every=1,
                     grad_fn=lambda x, e, x0: x0.square().sum())
    assert torch.equal(plain, trace.final)
    assert hooks_attached(model) == 0


def test_trace_contents_are_fp16_on_cpu_with_the_right_shapes(model):
    tr = annotate(model, 2, steps=6, seed=1, taps_=["down.1", "mid.attn"], every=1)
    assert tr.steps == list(range(6)) and len(tr.t) == 6 and tr.t[0] == 999
    assert tr.x_t.shape == tr.x0_hat.shape == tr.eps_hat.shape == (6, 2, 3, 32, 32)
    assert tr.taps["down.1"].shape == (6, 2, 32, 16, 16)
    assert tr.taps["mid.attn"].shape == (6, 2, 4, 64, 64)
    for x in [tr.x_t, tr.x0_hat, tr.eps_hat, *tr.taps.values()]:
        assert x.dtype == torch.float16 and x.device.type == "cpu"
    assert torch.allclose(tr.taps["mid.attn"].float().sum(-1), torch.ones(6, 2, 4, 64), atol=1e-2)
    # consecutive steps chain: the recorded x_t of step i+1 is step i's output
    recs = list(__import__("diffusion_course").sample_steps(model, 2, steps=6, seed=1))
    assert torch.equal(tr.x_t[3], recs[3].x_t.half())


def test_nbytes_is_the_truth_and_the_estimate_matches(model):
    names = ["down.0", "mid", "mid.attn"]
    tr = annotate(model, 4, steps=5, seed=0, taps_=names, every=1)
    counted = sum(x.numel() * x.element_size()
                  for x in [tr.x_t, tr.x0_hat, tr.eps_hat, tr.final, *tr.taps.values()])
    assert tr.nbytes == counted
    assert estimate_bytes_per_step(model, names, 4) * 5 + tr.final.numel() * 4 == tr.nbytes


def test_budget_subsamples_and_says_so(model, capsys):
    per_step = estimate_bytes_per_step(model, model.tap_names(), 4)
    budget = 3.5 * per_step / MB  # room for 3 recorded steps
    tr = annotate(model, 4, steps=10, seed=0, taps_=model.tap_names(), budget_mb=budget)
    assert "every 4th step" in capsys.readouterr().out
    assert tr.steps == [0, 4, 8, 9]  # every 4th, plus the last
    assert tr.meta["every"] == 4
    with pytest.raises(MemoryError, match="every='auto'"):
        annotate(model, 4, steps=10, seed=0, taps_=model.tap_names(), budget_mb=budget, every=1)
    with pytest.raises(MemoryError, match="even one recorded step"):
        plan_steps(10, 10 * MB, 1.0, "auto")
    with pytest.raises(ValueError, match="every"):
        plan_steps(10, 1, 1.0, 0)


def test_gradient_with_respect_to_x_t(model):
    tr = annotate(model, 2, steps=4, seed=2, taps_=["mid"], every=1, grad_fn=lambda x, e, x0: x0.square().sum())
    assert tr.grads.shape == (4, 2, 3, 32, 32) and tr.grads.dtype == torch.float16
    # recompute one step's gradient by hand
    i = 2
    x = tr.x_t[i].float().requires_grad_(True)
    ab = model.schedule.alpha_bar[tr.t[i]].float()
    x0 = (x - (1 - ab).sqrt() * model(x, tr.t[i])) / ab.sqrt()
    (g,) = torch.autograd.grad(x0.square().sum(), x)
    assert torch.allclose(tr.grads[i].float(), g, rtol=2e-2, atol=2e-2)


def test_default_recording_of_16_images_by_50_steps_fits_100_mb():
    tr = annotate(build("unet-scenes"), 16, steps=50, seed=0)
    assert tr.meta["every"] == 1 and len(tr) == 50
    assert tr.nbytes <= 100 * MB


# ----------------------------------------------------------------------------- the viewer

def test_trace_viewer_plays_in_the_browser_and_falls_back_to_png(model, tmp_path):
    from PIL import Image

    from diffusion_course.widgets import TraceViewer

    a = annotate(model, 3, steps=5, seed=1, taps_=["down.0", "mid.attn"], every=1)
    b = annotate(model, 3, steps=5, seed=2, taps_=["down.0", "mid.attn"], every=1)
    v = TraceViewer(a, compare=b, tap="mid.attn", query=(1, 2))
    panels = [s for row in v.stacks for s in row]
    assert len(panels) == 6 and all(len(s.children) == 5 for s in panels)
    assert all(lk.source[0] is v.slider for lk in v.links)
    assert {id(lk.target[0]) for lk in v.links} >= {id(s) for s in panels}
    before = [c.value for c in v.stacks[0][2].children]
    v.row.value = 5  # another attention query re-renders the tap panel
    assert [c.value for c in v.stacks[0][2].children] != before
    v.image.value = 2
    bundle = v._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/plain" in bundle
    img = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert img.width > 0 and img.height > img.width / 6  # 6 rows: 3 per trace

    path = v.save_html(tmp_path / "trace.html")
    page = path.read_text()
    state = json.loads(page.split('<script type="application/vnd.jupyter.widget-state+json">')[1].split("</script>")[0])
    models = [m["model_name"] for m in state["state"].values()]
    assert models.count("StackModel") >= 7 and "LinkModel" in models and "PlayModel" in models
    assert "@jupyter-widgets/html-manager" in page or "jupyter-widgets" in page
    assert "cdn." not in page.split("<script>")[0]  # no network needed to load the page
    assert a.save_html(tmp_path / "a.html").read_text().count("StackModel") >= 4  # Trace.save_html, one trace


def test_trace_viewer_refuses_mismatched_input(model):
    from diffusion_course.widgets import TraceViewer

    a = annotate(model, 1, steps=5, seed=1, taps_=["mid"], every=1)
    b = annotate(model, 1, steps=4, seed=1, taps_=["mid"], every=1)
    with pytest.raises(ValueError, match="same number of recorded steps"):
        TraceViewer(a, compare=b)
    with pytest.raises(KeyError, match="not recorded by every trace"):
        TraceViewer(a, tap="down.0")


def test_trace_viewer_compares_models_with_different_taps(model):
    from diffusion_course.widgets import EPS_HAT, TraceViewer

    dit = build("dit-tiny").eval()
    a = annotate(model, 1, steps=4, seed=3, taps_=["mid"], every=1)
    b = annotate(dit, 1, steps=4, seed=3, taps_=["block.1.attn"], every=1)
    v = TraceViewer(a, compare=b, names=("CNN", "DiT"))
    assert list(v.tap.options) == [EPS_HAT]  # no tap in common: the noise estimate, which every model has
    assert all(len(s.children) == 4 for row in v.stacks for s in row)
    assert torch.equal(a.x_t[0], b.x_t[0])  # the same starting dust for both
    with pytest.raises(KeyError, match="not recorded by every trace"):
        TraceViewer(a, compare=b, tap="mid")


def test_widgets_outside_jupyter_say_what_to_do(model):
    from diffusion_course.widgets import TraceViewer

    v = TraceViewer(annotate(model, 1, steps=3, seed=0, taps_=["mid"], every=1))
    with pytest.raises(RuntimeError, match="save_html"):
        v.show()


def test_recording_never_imports_ipywidgets():
    import subprocess
    import sys

    code = "import sys, diffusion_course.trace; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
