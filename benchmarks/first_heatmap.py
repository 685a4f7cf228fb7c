"""Time from starting the app to its first heatmap, on a fresh server each run: what a user waits for after
`./workbench run` (or `python -m app`) when the browser opens the first page with a model picked.

    python benchmarks/first_heatmap.py                          # zoo:smollm2-135m, 5 runs; run it alone
    python benchmarks/first_heatmap.py --model zoo:lang-4l --runs 3
    python benchmarks/first_heatmap.py --smoke                  # zoo:lang-4l, one run: checks that it works

Each run starts `python -m app` (a new process: imports, the model loaded from its converted folder, the first
page's patching) and opens `/?model=SPEC` in headless Chromium (Debian's, as the tests drive it), already running:
the clock starts with the server process and stops when the patching page's heatmap is drawn. Prints every run and
the median with the range. The model must have been fetched (`interp zoo fetch smollm2-135m`). `--smoke`
(tests/test_benchmarks.py) starts one server for zoo:lang-4l: the same path in seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import parse  # noqa: E402

from tests.processes import free_port, started, wait_until_serving  # noqa: E402  (the tests' server helpers)

FIGURE = '[data-testid="stPlotlyChart"]:has(.main-svg)'
SMOKE = {"model": "zoo:lang-4l", "runs": 1}
"""--smoke's sizes (options given on the command line still win)."""


def one_run(page, spec: str) -> tuple[float, float]:
    """(seconds until the server answered, seconds until the first heatmap), both from the server's start."""
    port = free_port()
    start = time.perf_counter()
    command = [sys.executable, "-m", "app", "--port", str(port)]
    with started(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        wait_until_serving(server, port, poll=0.1)
        answered = time.perf_counter() - start
        page.goto(f"http://127.0.0.1:{port}/?model={spec}")
        page.locator(FIGURE).first.wait_for(state="visible", timeout=600_000)
        return answered, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="zoo:smollm2-135m")
    parser.add_argument("--runs", type=int, default=5)
    args = parse(parser, argv, SMOKE, smoke_help="zoo:lang-4l, one run: checks in seconds that it works")
    from playwright.sync_api import sync_playwright

    firsts = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        for run in range(1, args.runs + 1):
            answered, first = one_run(page, args.model)
            firsts.append(first)
            print(f"run {run}: server answered after {answered:.1f} s, first heatmap after {first:.1f} s", flush=True)
        browser.close()
    print(
        f"{args.model}, {os.cpu_count()} CPUs: first heatmap median {statistics.median(firsts):.1f} s of "
        f"{len(firsts)} fresh servers (range {min(firsts):.1f}-{max(firsts):.1f} s)"
    )


if __name__ == "__main__":
    main()
