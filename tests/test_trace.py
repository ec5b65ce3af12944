"""The annotated sampler: hooks in context managers, invariance, budgets, gradients, and the viewer."""
import base64
import io
import json

import pytest
import torch

from diffusion_course import build, sample
from diffusion_course.looking.taps import taps
from diffusion_course.looking.trace import MB, annotate, estimate_bytes_per_step, plan_steps


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
    with pytest.raises(RuntimeError, match="boom"), taps(model, ["mid"]):
        raise RuntimeError("boom")
    assert hooks_attached(model) == 0
    with pytest.raises(KeyError, match="unknown taps"), taps(model, ["nope"]):
        pass


@pytest.mark.parametrize("sampler,eta", [("ddim", 1.0), ("ddim", 0.0), ("ddpm", 0.0)])
def test_recording_does_not_change_the_samples(model, sampler, eta):
    plain = sample(model, 3, steps=8, sampler=sampler, eta=eta, seed=4)
    trace = annotate(model, 3, steps=8, sampler=sampler, eta=eta, seed=4, taps=model.tap_names(), every=1,
                     grad_fn=lambda x, e, x0: x0.square().sum())
    assert torch.equal(plain, trace.final)
    assert hooks_attached(model) == 0


def test_trace_contents_are_fp16_on_cpu_with_the_right_shapes(model):
    tr = annotate(model, 2, steps=6, seed=1, taps=["down.1", "mid.attn"], every=1)
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
    tr = annotate(model, 4, steps=5, seed=0, taps=names, every=1)
    counted = sum(x.numel() * x.element_size()
                  for x in [tr.x_t, tr.x0_hat, tr.eps_hat, tr.final, *tr.taps.values()])
    assert tr.nbytes == counted
    assert estimate_bytes_per_step(model, names, 4) * 5 + tr.final.numel() * 4 == tr.nbytes


def test_budget_subsamples_and_says_so(model, capsys):
    per_step = estimate_bytes_per_step(model, model.tap_names(), 4)
    budget = 3.5 * per_step / MB  # room for 3 recorded steps
    tr = annotate(model, 4, steps=10, seed=0, taps=model.tap_names(), budget_mb=budget)
    # every 4th step and the last would be 4 recorded steps, over the budget: one in 5 and the last is 3
    assert "one step in 5 and the last (3 of 10)" in capsys.readouterr().out
    assert tr.steps == [0, 5, 9] and tr.nbytes <= budget * MB
    assert tr.meta["every"] == 5
    with pytest.raises(MemoryError, match="every='auto'"):
        annotate(model, 4, steps=10, seed=0, taps=model.tap_names(), budget_mb=budget, every=1)
    with pytest.raises(MemoryError, match="even one recorded step"):
        plan_steps(10, 10 * MB, 1.0, "auto")
    with pytest.raises(ValueError, match="every"):
        plan_steps(10, 1, 1.0, 0)


def test_gradient_with_respect_to_x_t(model):
    tr = annotate(model, 2, steps=4, seed=2, taps=["mid"], every=1, grad_fn=lambda x, e, x0: x0.square().sum())
    assert tr.grads.shape == (4, 2, 3, 32, 32) and tr.grads.dtype == torch.float16
    assert "grads" in tr.names() and torch.equal(tr.frames("grads", 1), tr.grads[:, 1].float().abs().sum(1))
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

    from diffusion_course.looking.widgets import TraceViewer, filmstrip_png, save_html

    a = annotate(model, 3, steps=5, seed=1, taps=["down.0", "mid.attn"], every=1)
    b = annotate(model, 3, steps=5, seed=2, taps=["down.0", "mid.attn"], every=1)
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
    rows_alone = Image.open(io.BytesIO(filmstrip_png([a], "mid.attn")))
    rows_no_eps = Image.open(io.BytesIO(filmstrip_png([a], "eps_hat")))
    assert rows_no_eps.height < rows_alone.height  # a still of eps_hat is pure noise to the eye: no row

    path = v.save_html(tmp_path / "trace.html")
    page = path.read_text()
    state = json.loads(page.split('<script type="application/vnd.jupyter.widget-state+json">')[1].split("</script>")[0])
    models = [m["model_name"] for m in state["state"].values()]
    assert models.count("StackModel") >= 7 and "LinkModel" in models and "PlayModel" in models
    assert "@jupyter-widgets/html-manager" in page or "jupyter-widgets" in page
    assert "cdn." not in page.split("<script>")[0]  # no network needed to load the page
    one = save_html(a, tmp_path / "a.html", tap="mid.attn")  # a Trace is wrapped in a TraceViewer
    assert one.read_text().count("StackModel") >= 4


def test_trace_viewer_refuses_mismatched_input(model):
    from diffusion_course.looking.widgets import TraceViewer

    a = annotate(model, 1, steps=5, seed=1, taps=["mid"], every=1)
    b = annotate(model, 1, steps=4, seed=1, taps=["mid"], every=1)
    with pytest.raises(ValueError, match="same number of recorded steps"):
        TraceViewer(a, compare=b)
    with pytest.raises(KeyError, match="not recorded by every trace"):
        TraceViewer(a, tap="down.0")


def test_trace_viewer_compares_models_with_different_taps(model):
    from diffusion_course.looking.widgets import TraceViewer

    dit = build("dit-tiny").eval()
    a = annotate(model, 1, steps=4, seed=3, taps=["mid"], every=1)
    b = annotate(dit, 1, steps=4, seed=3, taps=["block.1.attn"], every=1)
    v = TraceViewer(a, compare=b, names=("CNN", "DiT"))
    assert list(v.tap.options) == ["eps_hat"]  # no tap in common: the noise estimate, which every model has
    assert all(len(s.children) == 4 for row in v.stacks for s in row)
    assert torch.equal(a.x_t[0], b.x_t[0])  # the same starting dust for both
    with pytest.raises(KeyError, match="not recorded by every trace"):
        TraceViewer(a, compare=b, tap="mid")


def test_widgets_outside_jupyter_say_what_to_do(model):
    from diffusion_course.looking.widgets import TraceViewer

    v = TraceViewer(annotate(model, 1, steps=3, seed=0, taps=["mid"], every=1))
    with pytest.raises(RuntimeError, match="save_html"):
        v.show()


def test_recording_never_imports_ipywidgets():
    import subprocess
    import sys

    code = "import sys, diffusion_course.looking.trace; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ----------------------------------------------------------------------------- frames: what a viewer shows

def test_frames_of_every_kind_of_tap(model):
    tr = annotate(model, 2, steps=3, seed=0, taps=["down.1", "mid.attn"], every=1)
    assert tr.kinds == {"down.1": "features", "mid.attn": "attention"}
    assert torch.equal(tr.frames("x_t", 1), tr.x_t[:, 1].float())
    assert torch.equal(tr.frames("down.1", 1), tr.taps["down.1"][:, 1].float().abs().mean(1))
    att = tr.frames("mid.attn", 0, query=(2, 5))  # where token (2, 5) of the 8 x 8 grid attends
    assert att.shape == (3, 8, 8)
    assert torch.equal(att.flatten(1), tr.taps["mid.attn"][:, 0, :, 2 * 8 + 5, :].float().mean(1))
    assert torch.allclose(att.sum((1, 2)), torch.ones(3), atol=1e-2)  # a row of probabilities
    assert tr.frames("eps_hat", 0).abs().max() <= 1
    with pytest.raises(ValueError, match="outside the 8x8"):
        tr.frames("mid.attn", 0, query=(8, 0))
    with pytest.raises(KeyError, match="was not recorded"):
        tr.frames("up.0", 0)
    with pytest.raises(IndexError, match="2 images"):
        tr.frames("x_t", 2)


def test_dit_tokens_are_shown_on_their_patch_grid():
    dit = build("dit-tiny").eval()  # patch 4: an 8 x 8 grid of tokens
    tr = annotate(dit, 1, steps=2, seed=0, taps=["block.0"], every=1)
    assert tr.kinds["block.0"] == "tokens" and tr.taps["block.0"].shape == (2, 1, 64, dit.config.width)
    assert tr.grid_side("block.0") == 8
    assert torch.equal(tr.frames("block.0").flatten(1), tr.taps["block.0"][:, 0].float().abs().mean(-1))


# ----------------------------------------------------------------------------- the guidance hook

def test_a_guide_steers_each_step_and_annotate_records_what_it_did(model):
    """``guide`` is the hook guidance plugs into: it runs the model on x_t and t at every step, returns the
    eps_hat the update uses, and may leave tensors in ``extras`` that the trace keeps."""
    seen_t = []

    def push_brighter(model, x_t, t, extras):
        seen_t.append(int(t[0]))
        with torch.no_grad():
            eps_hat = model(x_t, t)
        extras["shift"] = torch.full_like(eps_hat, -0.5)
        return eps_hat + extras["shift"]  # less noise to remove means a brighter x0_hat

    plain = sample(model, 2, steps=4, seed=1)
    tr = annotate(model, 2, steps=4, seed=1, taps=[], every=1, guide=push_brighter)
    assert seen_t == tr.t  # called once per step, with that step's t
    assert tr.final.mean() > plain.mean()
    assert tr.extras["shift"].shape == (4, 2, 3, 32, 32)
    assert torch.equal(sample(model, 2, steps=4, seed=1, guide=push_brighter), tr.final)
