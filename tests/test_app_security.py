"""The app serves only this machine unless told otherwise, sends no usage statistics, and loads models and
SAEs only from the folders it was allowed (its errors never list a server's folders)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.common import OTHER, serves
from tests.test_app import _assert_clean, _assert_error, _open
from tests.test_app_browser import _chromium, _free_port

ROOT = Path(__file__).resolve().parents[1]


def test_only_local_clients_are_served_unless_allowed():
    assert serves(None, allow_remote=False)  # Streamlit reports a local client as None
    assert serves("127.0.0.1", allow_remote=False) and serves("::1", allow_remote=False)
    assert serves("::ffff:127.0.0.1", allow_remote=False)  # 127.0.0.1 as an IPv6 socket reports it
    assert not serves("192.0.2.7", allow_remote=False) and not serves("fd00::7", allow_remote=False)
    assert serves("192.0.2.7", allow_remote=True)


def test_folders_outside_the_allowed_roots_are_refused_without_a_listing():
    at = _open(model_pick=OTHER, model_other="/etc")
    _assert_error(at, "this app loads models only from")
    assert "passwd" not in at.error[0].value  # nothing of what /etc holds
    at = _open("pages/sae_features.py", **{"sae_path_zoo:lang-4l": "/proc/self"})
    _assert_error(at, "this app loads SAEs only from")
    assert "environ" not in at.error[0].value


def test_the_allowed_roots_can_be_extended(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_ROOTS", str(tmp_path))
    at = _open(model_pick=OTHER, model_other=str(tmp_path / "model"))
    _assert_error(at, "no folder at")  # allowed: the loader itself says what is wrong
    monkeypatch.setenv("WORKBENCH_ROOTS", str(ROOT))
    _assert_clean(_open())  # the bundled model is under the project


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _start(command: list[str], port: int, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("WORKBENCH_ALLOW_REMOTE", None)
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"the app did not start: {command}")


def test_the_launcher_listens_on_localhost_from_any_folder(tmp_path):
    address, port = _non_loopback_address(), _free_port()
    proc = _start([sys.executable, "-m", "app", "--port", str(port)], port, tmp_path)  # no config file in tmp_path
    try:
        if address is not None:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=3).close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_bare_streamlit_run_serves_no_one_else(tmp_path):
    """`streamlit run app/main.py` from another folder listens on every interface: the app must still answer
    only this machine. Checked in Chromium from the loopback address and from this machine's network one."""
    from playwright.sync_api import sync_playwright

    address, port = _non_loopback_address(), _free_port()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port)]
    proc = _start(command, port, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://{address}:{port}/")
            page.get_by_text("answers only on the machine it runs on").wait_for(timeout=90_000)
            assert page.locator("[data-testid=stPlotlyChart]").count() == 0
            page.goto(f"http://{address}:{port}/attention")  # a page's own address: still refused
            page.get_by_text("answers only on the machine it runs on").wait_for(timeout=90_000)
            assert page.locator("[data-testid=stPlotlyChart]").count() == 0
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("[data-testid=stPlotlyChart]").first.wait_for(timeout=120_000)
            assert page.get_by_text("answers only on the machine it runs on").count() == 0
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
