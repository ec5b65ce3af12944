"""The viewers in a real browser (Chromium, driven by Playwright; see browser.py).

1. Notebooks in JupyterLab: Run All from the menu gives no error output and shows every viewer; in each,
   ▶ moves the slider and changes the frame shown, the slider dragged back to the start shows the first
   frame again and moved by keys to where ▶ stopped shows that frame again, and choosing another image
   changes every panel, another tap or word the tap's panels alone. The course notebooks whose Run All
   is quick run whole (COURSE); the other notebooks' viewers are built, as they build them, in a
   notebook of this file's own (VIEWERS), and a test checks that no notebook's viewer is left out.
2. A page written by ``save_html`` opened from file:// with every other request blocked and counted:
   ▶ and the slider work the same, and no request leaves the page.
3. A notebook rendered statically (nbconvert to HTML, no widget state) shows the viewer's PNG filmstrip.
On failure a screenshot, the browser console and the JupyterLab log go to tests/browser-artifacts/.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from browser import (
    Lab,
    Viewer,
    chromium_or_skip,
    evidence,
    open_notebook,
    run_all,
    shut_down_kernel,
    wait_for,
    watch_console,
)
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor
from PIL import Image

from diffusion_course import load_pretrained
from diffusion_course.looking import widgets
from diffusion_course.looking.trace import annotate

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
VIEWER_CALL = re.compile(r"\b(TraceViewer|FramePlayer|scene_browser|dust_slider)\(")
# Course notebooks run whole in JupyterLab (notebook: the viewers it shows): those whose Run All there
# takes seconds to half a minute on 2 cores (measured: 00 4 s, 01 35 s, 03 12 s, 04 5 s)
COURSE = {"00_welcome.ipynb": 1, "01_the_dusty_trick.ipynb": 1, "03_team_cnn.ipynb": 1, "04_team_transformers.ipynb": 1}
# The others' Run All takes 1 to 2 minutes each (02 59 s, 05 88 s, 08 105 s: they train, sample hundreds
# of drawings; 06 and 09 train models live), too long together for the suite's 3 minutes: their viewers are
# built here instead, each as its notebook builds it, with fewer steps and images (nbval runs those notebooks whole)
SETUP = ("from diffusion_course import clip, guidance, load_pretrained, scenes, widgets\n"
         "from diffusion_course.looking.trace import annotate\n"
         "from diffusion_course.looking.widgets import TraceViewer\n"
         'unet = load_pretrained("unet-scenes")')
VIEWERS = {
    "02_cleaning_up_the_dust":  # DDIM with and without fresh noise, side by side, one feature tap
        "TraceViewer(annotate(unet, 2, steps=12, seed=2, eta=0.0, taps=[\"up.1\"]),\n"
        "            compare=annotate(unet, 2, steps=12, seed=2, eta=1.0, taps=[\"up.1\"]),\n"
        '            names=("DDIM eta = 0", "DDIM eta = 1"), tap="up.1")',
    "05_the_magic_drawing_challenge":  # Team CNN and Team Transformers from the same dust
        'dit = load_pretrained("dit-scenes")\n'
        "TraceViewer(annotate(unet, 2, steps=12, seed=11, taps=[]),\n"
        '            compare=annotate(dit, 2, steps=12, seed=11, taps=[]), names=("CNN", "DiT"))',
    "06_everyone_draws_the_same":  # a described model: its first x̂₀ is the template's blur, then the dust decides
        "from diffusion_course.lessons import templates\n"
        'TraceViewer(annotate(load_pretrained("unet-labels"), 2, steps=12, seed=0,\n'
        '                     cond=templates.describe(scenes.CHALLENGE_PROMPTS[0]), taps=["mid"]))',
    "08_drawing_from_words":  # which word lights up where, under classifier-free guidance
        "words = clip.load()\n"
        "prompt = clip.prompt(*words, scenes.CHALLENGE_PROMPTS[3])\n"
        'trace = annotate(load_pretrained("unet-words"), 2, steps=12, seed=1, prompt=prompt,\n'
        '                 guide=guidance.ClassifierFree(3), taps=["mid.words", "up.2.words"])\n'
        'TraceViewer(trace, tap="up.2.words", query=trace.words(0).index("moon"))',
    "09_the_latent_sketchbook":  # a latent run: its latents, and x̂₀ painted by the decoder at every step
        "from diffusion_course.sketchbook import latent\n"
        'TraceViewer(latent.load("latent-unet").annotate(2, steps=12, seed=3))',
    "10_showing_its_work":  # a bad drawing beside the same dust's good one (its word viewer is 08's)
        'TraceViewer(annotate(unet, 2, steps=12, seed=0), compare=annotate(unet, 2, steps=12, seed=1),\n'
        '            names=("bad", "good"), tap="mid", image=1)',
}
NOTEBOOK_RUNS = {**COURSE, "viewers.ipynb": len(VIEWERS)}
STATIC = "04_team_transformers.ipynb"  # rendered statically: the quickest notebook with a TraceViewer


def new_notebook(sources: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    path = chromium_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch_console(page)
    yield page
    context.close()


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):  # (no Chromium: skipped before JupyterLab starts)
    """JupyterLab on copies of the notebooks (its autosave never touches notebooks/)."""
    root = tmp_path_factory.mktemp("notebooks")
    for name in COURSE:
        shutil.copy(NOTEBOOKS / name, root / name)
    nbformat.write(new_notebook([SETUP, *VIEWERS.values()]), root / "viewers.ipynb")
    lab = Lab(root, tmp_path_factory.mktemp("jupyterlab"))
    yield lab
    lab.stop()


def test_every_viewer_of_the_course_is_checked_in_the_browser():
    shown = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
             if any(VIEWER_CALL.search(c.source) for c in nbformat.read(p, as_version=4).cells
                    if c.cell_type == "code")}
    unchecked = shown - {Path(n).stem for n in COURSE} - set(VIEWERS)
    assert not unchecked, (f"{sorted(unchecked)} show a viewer that no browser test plays: add the notebook to "
                           "COURSE (Run All, if it is quick) or build its viewers in VIEWERS")


def check_viewer(v: Viewer, kernel: bool = True) -> None:
    """▶ plays, the slider moves the frame (exactly), and (with a kernel) the dropdowns change the panels:
    another image changes every panel, another tap or word the tap's panels alone (the third of each row)."""
    where = v.name
    first = wait_for(f"{where}: no frame shown", v.frame, 10)
    assert v.step() == 0, f"{where}: the slider starts at {v.step()}, not 0"
    step, played = v.play_until_the_frame_changes()
    v.drag_to_start()
    wait_for(f"{where}: the slider dragged back to the start did not show the first frame again",
             lambda: v.step() == 0 and v.frame() == first, 10)
    v.press_right(step)
    wait_for(f"{where}: the slider moved to step {step} did not show the frame ▶ showed there",
             lambda: v.step() == step and v.frame() == played, 10)
    for label in ("word", "image", "tap") if kernel else ():  # the word menu shows for a words tap only
        if label not in v.dropdowns():
            continue
        before = v.settled_frame()
        chosen = v.choose_another(label)
        if chosen is None:  # one image only: nothing to choose
            continue
        changes = [label == "image" or i % 3 == 2 for i in range(len(before))]

        def as_expected(before=before, changes=changes):
            now = v.frame()
            return now is not None and [a != b for a, b in zip(before, now)] == changes

        wait_for(lambda label=label, chosen=chosen, before=before: (
            f"{where}: choosing {label} {chosen!r} should change "
            f"{'every panel' if label == 'image' else 'the tap panels alone'}: {before} became {v.frame()}"),
            as_expected, 60)


@pytest.mark.parametrize("name", NOTEBOOK_RUNS)
def test_run_all_in_jupyterlab_and_play_every_viewer(lab, page, name, request):
    with evidence(page, f"jupyterlab-{Path(name).stem}", lab.log):
        open_notebook(page, lab, name)
        request.addfinalizer(lambda: shut_down_kernel(page))
        state = run_all(page, timeout=150)
        assert not state["errors"], f"Run All of {name} in JupyterLab: {state['errors']}"
        roots = page.locator(".jp-OutputArea-output:has(.widget-play)")
        wait_for(f"{name}: {NOTEBOOK_RUNS[name]} viewers expected after Run All, {roots.count()} shown",
                 lambda: roots.count() == NOTEBOOK_RUNS[name], 30)
        broken = page.locator(".jupyter-widgets", has_text="Error displaying widget")
        assert not broken.count(), f"{name}: {broken.first.inner_text()}"
        for i in range(roots.count()):
            check_viewer(Viewer(roots.nth(i), f"{name}, viewer {i + 1}"))


def test_a_saved_page_plays_from_file_with_no_network(page, tmp_path):
    unet = load_pretrained("unet-scenes")
    trace = annotate(unet, 2, steps=12, seed=3, taps=["mid.attn"])
    path = widgets.save_html(trace, tmp_path / "trace.html", tap="mid.attn",
                             compare=annotate(unet, 2, steps=12, seed=4, taps=["mid.attn"]))
    left = []  # every request for anything but the page's own file: blocked, and counted

    def only_the_file(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_file)
    page.on("websocket", lambda ws: left.append(ws.url))
    with evidence(page, "saved-page"):
        page.goto(path.as_uri())
        page.wait_for_selector(".widget-play", timeout=30_000)
        check_viewer(Viewer(page.locator("body"), f"the page {path.name}"), kernel=False)
        assert not left, f"the saved page asked the network for {left}"


def test_a_static_rendering_shows_the_png_filmstrip(page, tmp_path, monkeypatch):
    """What GitHub or a static page shows of a notebook: its outputs, no widget state, no kernel."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))  # this environment's kernel, not the user's
    nb = nbformat.read(NOTEBOOKS / STATIC, as_version=4)
    ExecutePreprocessor(timeout=300, kernel_name="python3", store_widget_state=False).preprocess(
        nb, {"metadata": {"path": str(tmp_path)}})
    assert "widgets" not in nb.metadata
    strips = [o.data["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert strips, f"{STATIC} shows no viewer"
    path = tmp_path / "static.html"
    path.write_text(HTMLExporter(template_name="lab").from_notebook_node(nb)[0], encoding="utf-8")
    page.context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    with evidence(page, "static-rendering"):
        page.goto(path.as_uri())
        for strip in strips:
            expected = Image.open(io.BytesIO(base64.b64decode(strip))).size
            shown = page.evaluate(_RENDERED, "data:image/png;base64," + strip)
            assert shown, f"the viewer's PNG filmstrip is not on the page {path}"
            assert shown[:2] == list(expected) and shown[2] >= expected[1] / 2, (
                f"the filmstrip ({expected[0]}x{expected[1]}) is shown as {shown[0]}x{shown[1]}, "
                f"{shown[2]:.0f} px high")


# The image with this src, as drawn: its natural width and height, and its height on the page
_RENDERED = """(src) => {
  const img = Array.from(document.images).find(i => i.src === src);
  return img ? [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().height] : null;
}"""
