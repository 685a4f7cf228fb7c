"""The app in a real browser: `streamlit run` on localhost, driven by headless Chromium (Debian's package,
installed by `./workbench test`) through Playwright. Every page must draw all its figures and show no
exception or error box; a screenshot of each is saved to runs/app-screenshots/, with timings.json:
seconds until the server answers, and from opening each page to its first drawn figure (the first
page, patching, on a fresh server: imports, model load and the analysis)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "runs" / "app-screenshots"
# url path (st.navigation derives it from the page file; "" is the default page) -> (name, figures the page draws)
PAGES = {
    "": ("patching", 1),
    "model_tokens": ("model_tokens", 1),
    "attention": ("attention", 2),
    "attribution": ("attribution", 2),
    "circuit": ("circuit", 4),  # head circuit and its patching; edge circuit and its faithfulness curve
    "graph": ("graph", 1),  # the attribution graph
    "trojans": ("trojans", 1),  # the hunt's figure
    "probes": ("probes", 3),
    "sae_features": ("sae_features", 3),
    "superposition": ("superposition", 2),
}
FIGURE = '[data-testid="stPlotlyChart"]:has(.main-svg)'  # a chart plotly has drawn
PAGE_TIMEOUT_MS = 240_000


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed: `./workbench test` installs Debian's chromium package (apt-get install "
            "chromium)"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(log_name: str):
    """A fresh `streamlit run` on a free port: yields its url and the seconds until it answered."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with open(SHOTS / log_name, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app" / "main.py"),
                "--server.port",
                str(port),
            ],  # + .streamlit/config.toml
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        deadline = time.time() + 120
        try:
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    pass
                assert proc.poll() is None, f"streamlit exited at start-up (see runs/app-screenshots/{log_name})"
                assert time.time() < deadline, "streamlit did not answer its health check within 120 s"
                time.sleep(0.5)
            yield url, round(time.perf_counter() - started, 2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server():
    with _serving("server.log") as served:
        yield served


def _walk_pages(url: str, shots: Path, query: str = "", figures: dict | None = None) -> dict:
    """Open every page (each a fresh session), wait for all its figures (`figures`: page name -> count, where it
    differs from PAGES), screenshot it, and check that it shows no exception or error box; returns the seconds
    from opening each page to its first figure."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    timings = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        for path, (name, n_figures) in PAGES.items():
            n_figures = (figures or {}).get(name, n_figures)
            start = time.perf_counter()
            page.goto(f"{url}/{path}{query}")
            # a page with nothing to draw for this model (no transcoders for the graph page) says so in an info box
            first = page.locator(FIGURE if n_figures else '[data-testid="stAlertContentInfo"]').first
            first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
            timings[name] = round(time.perf_counter() - start, 2)
            # the page is done when all its figures are drawn and no spinner is left, or as soon as it shows an error
            page.wait_for_function(
                f"(document.querySelectorAll('{FIGURE}').length >= {n_figures} && "
                "!document.querySelector('[data-testid=\"stSpinner\"]')) || "
                'document.querySelector(\'[data-testid="stException"], [data-testid="stAlertContentError"]\')',
                timeout=PAGE_TIMEOUT_MS,
            )
            page.screenshot(path=str(shots / f"{name}.png"))  # the page scrolls inside a tall viewport: no full_page
            exceptions = page.locator('[data-testid="stException"]')
            assert exceptions.count() == 0, f"{name}: exception shown: {exceptions.first.inner_text()[:2000]}"
            errors = page.locator('[data-testid="stAlertContentError"]')
            assert errors.count() == 0, f"{name}: error shown: {errors.first.inner_text()}"
            assert page.locator(FIGURE).count() == n_figures
        browser.close()
    return timings


def test_every_page_renders_in_chromium(server):
    url, server_start = server
    timings = {"server_start": server_start} | _walk_pages(url, SHOTS)
    (SHOTS / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")


@pytest.mark.real
def test_every_page_renders_on_smollm2_and_the_first_heatmap_is_quick():
    """A fresh server opened on the real model (?model=zoo:smollm2-135m): the first patching heatmap, then
    every page, drawn without an error. The first heatmap includes the imports, loading the model from its
    converted folder and patching 8 prompts; the issue's target is 30 s on a 2-core CPU (measured alone; the
    bound here leaves room for a busy machine)."""
    spec = "zoo:smollm2-135m"
    with _serving("server-smollm2.log") as (url, server_start):
        # the circuit page waits for a button before scoring smollm2's 70,651 edges: its head circuit only
        shots = SHOTS / "smollm2"
        timings = {"server_start": server_start} | _walk_pages(url, shots, f"?model={spec}", {"circuit": 2, "graph": 0})
    timings["open_to_first_heatmap"] = round(server_start + timings["patching"], 2)
    (SHOTS / "smollm2" / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    assert timings["open_to_first_heatmap"] < 60, timings


def _choose(page, label: str, option: str) -> None:
    """Pick `option` in the select box labelled `label`, as a user does."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _downloaded(page) -> dict:
    with page.expect_download() as download:
        page.get_by_role("button", name="Download result.json").click()
    return json.loads(Path(download.value.path()).read_text())


def test_two_sessions_patching_at_once_get_their_solo_results(server):
    """Two browser sessions share the app's one model object. Each asks for exact patching with other settings,
    the second right after the first (so that the runs overlap), and each must get exactly what the library
    gives alone: the result it downloads equals the solo call's JSON."""
    from playwright.sync_api import sync_playwright

    from interp.model import load_model
    from interp.patching import patch
    from interp.results import to_json
    from interp.tasks import ioi_task

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        first, second = (browser.new_context(viewport={"width": 1400, "height": 1600}).new_page() for _ in range(2))
        for page in (first, second):
            page.goto(url)  # the first screen is the patching page
            page.locator(FIGURE).first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        _choose(first, "site", "z_pos")
        first.locator(FIGURE).filter(has_text="of z_pos").wait_for(timeout=PAGE_TIMEOUT_MS)
        _choose(second, "direction", "noise")
        second.locator(FIGURE).filter(has_text="noise fast patching").wait_for(timeout=PAGE_TIMEOUT_MS)
        _choose(first, "method", "exact (one pass per patch)")  # the two exact runs start together
        _choose(second, "method", "exact (one pass per patch)")
        first.locator(FIGURE).filter(has_text="denoise exact patching of z_pos").wait_for(timeout=PAGE_TIMEOUT_MS)
        second.locator(FIGURE).filter(has_text="noise exact patching of resid_pre").wait_for(timeout=PAGE_TIMEOUT_MS)
        got = [_downloaded(first), _downloaded(second)]
        browser.close()
    model = load_model("zoo:lang-4l", device="cpu")
    task = ioi_task(model, n_prompts=16, seed=0)  # the sidebar's default task
    solo = [
        patch(model, task, site="z_pos", method="exact"),
        patch(model, task, site="resid_pre", direction="noise", method="exact"),
    ]
    for downloaded, alone in zip(got, solo):
        expected = json.loads(to_json(alone))
        for key in ("site", "direction", "method", "raw", "normalized", "clean", "corrupted"):
            assert downloaded[key] == expected[key], key
