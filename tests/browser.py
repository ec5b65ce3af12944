"""A real browser on the course, for test_browser.py: Chromium, JupyterLab, and a viewer's controls.

Playwright drives the system's Chromium (Debian's ``chromium`` package; Playwright's own browser
download is never used), found on PATH or named by the ``CHROMIUM`` environment variable. Without one
the browser tests skip and say how to install it; ``COURSE_BROWSER_TESTS=required`` (set by .ci/run)
turns that skip into a failure. ``Lab`` is JupyterLab from this environment on a free loopback port with
a random token and a settings folder of its own; ``Viewer`` is one viewer on a page (a notebook's
output or a ``save_html`` page): its ▶, its step slider, its dropdowns and the frame it shows.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

INSTALL = "sudo apt-get install chromium"
REQUIRED = os.environ.get("COURSE_BROWSER_TESTS") == "required"
ARTIFACTS = Path(__file__).resolve().parent / "browser-artifacts"  # screenshots and logs of failed checks


def find_chromium() -> str | None:
    """The Chromium to drive: $CHROMIUM if set, else ``chromium`` (Debian) or ``chromium-browser`` on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str:
    path = find_chromium()
    if path:
        return path
    why = (f"the browser tests need Chromium: install it with `{INSTALL}` "
           "(or name one with CHROMIUM=/path/to/chromium)")
    if os.environ.get("CHROMIUM"):
        why = f"CHROMIUM={os.environ['CHROMIUM']} is not a program; {why}"
    if REQUIRED:
        pytest.fail(f"{why}; COURSE_BROWSER_TESTS=required makes this a failure, not a skip", pytrace=False)
    pytest.skip(why)


@contextlib.contextmanager
def evidence(page, name: str, log: Path | None = None):
    """On any failure inside, write a screenshot, the browser's console (and the JupyterLab log) to
    browser-artifacts/NAME and name that folder in the failure message."""
    try:
        yield
    except Exception as e:
        folder = ARTIFACTS / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=folder / "screenshot.png", full_page=True)
        if log is not None and log.exists():
            shutil.copy(log, folder / "jupyterlab.log")
        (folder / "console.log").write_text("\n".join(getattr(page, "console_lines", [])))
        written = ", ".join(sorted(p.name for p in folder.iterdir()))
        raise AssertionError(f"{e}\n(what the browser showed: {folder}/ {written})") from e


def watch_console(page) -> None:
    """Keep the page's console messages and uncaught errors (written out with the evidence on failure)."""
    page.console_lines = []
    page.on("console", lambda m: page.console_lines.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console_lines.append(f"uncaught: {e}"))


def wait_for(what, check, timeout: float, every: float = 0.2):
    """Poll ``check()`` until it returns something truthy; after ``timeout`` seconds fail with ``what``
    (a string, or a function that says what is wrong now)."""
    end = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"{what() if callable(what) else what} (waited {timeout:.0f} s)")
        time.sleep(every)


# ----------------------------------------------------------------------------- JupyterLab

# A JupyterLab with nothing of the user's (its own config, data and settings folders): every cell kept
# in the page (no windowing), no news, update checks or extension index (nothing leaves the machine), and
# its app object on the page (window.jupyterapp) so that the tests read the notebook as JupyterLab holds it
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
LAB_CONFIG = {"LabApp": {"news_url": None, "extension_manager": "readonly", "expose_app_in_browser": True,
                         "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """JupyterLab serving ``root`` on 127.0.0.1 with a random token; ``stop()`` ends it and its kernels."""

    def __init__(self, root: Path, home: Path, timeout: float = 90):
        self.port, self.token, self.log = free_port(), secrets.token_hex(16), home / "jupyterlab.log"
        for name, values in LAB_SETTINGS.items():
            path = home / "settings" / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        (home / "config").mkdir(exist_ok=True)
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(LAB_CONFIG))
        env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_DATA_DIR=str(home / "data"),  # a user's own "python3" kernel would shadow this one
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        env.pop("MPLBACKEND", None)  # the notebooks choose their own (%matplotlib inline)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
               f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_for(f"JupyterLab did not answer on port {self.port}; its log: {self.log}", self._answers, timeout)
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"JupyterLab exited with status {self.proc.returncode}: "
                                 f"{self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def stop(self) -> None:
        """SIGTERM (JupyterLab shuts its kernels down), then SIGKILL to its process group if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# JupyterLab's own model of the open notebook (window.jupyterapp: expose_app_in_browser above)
_NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
  const cells = Array.from(panel.content.model.cells).filter(c => c.type === 'code');
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {
    path: panel.context.path,
    kernel: kernel ? kernel.status : 'none',
    cells: cells.length,
    run: cells.filter(c => c.executionCount !== null).length,
    errors: cells.flatMap((c, i) => c.outputs.toJSON().filter(o => o.output_type === 'error')
                                          .map(o => `code cell ${i + 1}: ${o.ename}: ${o.evalue}`)),
  };
}"""


def notebook_state(page) -> dict | None:
    return page.evaluate(_NOTEBOOK_STATE)


def open_notebook(page, lab: Lab, name: str, timeout: float = 90) -> None:
    """Open ``name`` alone (``reset``: no tabs from before) and wait for its kernel."""
    page.goto(lab.url(f"lab/tree/{name}") + "&reset")
    wait_for(f"{name} did not open with an idle kernel",
             lambda: (notebook_state(page) or {}).get("path") == name and notebook_state(page)["kernel"] == "idle",
             timeout)


def shut_down_kernel(page) -> None:
    """Free the notebook's kernel (Lab.stop() ends any left over)."""
    with contextlib.suppress(Exception):
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


def run_all(page, timeout: float) -> dict:
    """Run ▸ Run All Cells from JupyterLab's menu; wait until every code cell ran (or one failed)."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()

    def finished():
        s = notebook_state(page)
        return s if s["kernel"] == "idle" and (s["errors"] or s["run"] == s["cells"]) else None

    time.sleep(0.5)  # let the kernel go busy first
    return wait_for("Run All did not finish", finished, timeout, every=0.5)


# ----------------------------------------------------------------------------- a viewer's controls

# The bytes of every image the viewer shows now (a Stack renders only its selected child)
_SHOWN_IMAGES = """async (root) => {
  const shown = Array.from(root.querySelectorAll('img.widget-image')).filter(img => img.offsetParent !== null);
  return Promise.all(shown.map(async img => {
    try {
      const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    } catch (e) {
      return null;  // an image being replaced (its blob already revoked)
    }
  }));
}"""


class Viewer:
    """One viewer (a FramePlayer or a TraceViewer) inside ``root``, driven as a learner would."""

    def __init__(self, root, name: str):
        self.root, self.page, self.name = root, root.page, name
        self.play_button = root.locator(".widget-play button").first  # ▶ (⏸ while playing)
        self.handle = root.locator(".widget-play + .widget-slider [role=slider]").first  # the step slider

    def frame(self) -> tuple[str, ...] | None:
        """A fingerprint of what the panels show now: a hash of each image's bytes (None while an image
        is being replaced)."""
        images = self.root.evaluate(_SHOWN_IMAGES)
        if not images:
            raise AssertionError(f"{self.name} shows no image")
        if None in images:
            return None
        return tuple(hashlib.sha1(base64.b64decode(b)).hexdigest()[:10] for b in images)

    def step(self) -> int:
        return round(float(self.handle.get_attribute("aria-valuenow")))

    def last_step(self) -> int:
        return round(float(self.handle.get_attribute("aria-valuemax")))

    def play_until_the_frame_changes(self, timeout: float = 20) -> tuple[int, tuple[str, ...]]:
        """Press ▶, wait until it has moved a few steps and the frame has changed, press ⏸: the step and
        the frame where it stopped."""
        before, steps = self.frame(), min(3, self.last_step())
        self.play_button.click()
        try:
            wait_for(lambda: f"{self.name}: pressing ▶ did not move {steps} steps and change the frame shown "
                             f"(slider at {self.step()}, frame {'still' if self.frame() == before else 'now'} "
                             f"{self.frame()})",
                     lambda: self.step() >= steps and self.frame() not in (before, None), timeout)
        finally:
            if self.root.locator(".widget-play i.fa-pause").count():
                self.play_button.click()
        wait_for(f"{self.name}: ⏸ did not stop the playback", self._still, 5)
        return self.step(), self.frame()

    def settled_frame(self, timeout: float = 60) -> tuple[str, ...]:
        """The frame once it has stopped changing (a kernel may still be sending new images)."""
        seen = [None]

        def same_twice():
            before, seen[0] = seen[0], self.frame()
            return seen[0] if seen[0] is not None and seen[0] == before else None

        return wait_for(f"{self.name}: the frame kept changing", same_twice, timeout, every=0.5)

    def _still(self) -> bool:
        step = self.step()
        time.sleep(0.8)  # longer than any viewer's interval between frames
        return self.step() == step

    def drag_to_start(self) -> None:
        """Drag the slider's handle with the mouse to the far left of its track."""
        track = self.root.locator(".widget-play + .widget-slider .noUi-base").first.bounding_box()
        self.handle.hover()
        self.page.mouse.down()
        self.page.mouse.move(track["x"] - 20, track["y"] + track["height"] / 2, steps=8)
        self.page.mouse.up()

    def press_right(self, times: int) -> None:
        """Move the slider with the keyboard, one step per key press."""
        self.handle.focus()
        for _ in range(times):
            self.handle.press("ArrowRight")

    def dropdowns(self) -> dict[str, object]:
        """The viewer's visible dropdowns by their label: "image", "tap", "word"."""
        boxes = self.root.locator(".widget-dropdown")
        return {boxes.nth(i).locator("label").inner_text(): boxes.nth(i).locator("select")
                for i in range(boxes.count()) if boxes.nth(i).is_visible()}

    def choose_another(self, label: str) -> str | None:
        """Pick the next option of a dropdown; returns the option chosen (None when there is no other)."""
        select = self.dropdowns()[label]
        options = select.locator("option").all_inner_texts()
        if len(options) < 2:
            return None
        now = select.evaluate("s => s.options[s.selectedIndex].text")
        other = options[(options.index(now) + 1) % len(options)]
        select.select_option(label=other)
        return other
