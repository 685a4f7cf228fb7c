"""The app serves only this machine unless told otherwise, sends no usage statistics, and loads models and
SAEs only from the folders it was allowed (its errors never list a server's folders)."""

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from app.common import OTHER, serves
from tests.processes import free_port, popen, stop, wait_until_serving
from tests.test_app import _assert_clean, _assert_error, _open
from tests.test_app_browser import _chromium

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
    at = _open("views/sae_features.py", **{"sae_path_zoo:lang-4l": "/proc/self"})
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
    proc = popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(proc, port)
    except BaseException:
        stop(proc)
        raise
    return proc


def _listens_only_on_loopback(address: str | None, port: int) -> None:
    """The server answers on 127.0.0.1 and refuses connections to this machine's network address."""
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).read() == b"ok"
    if address is not None:
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=3).close()


@pytest.mark.parametrize("entry", ["python -m app", "streamlit run app/main.py"])
def test_every_entry_listens_on_localhost_from_any_folder(entry, tmp_path):
    # tmp_path holds no .streamlit/: the address comes from app/.streamlit/config.toml, beside the script
    address, port = _non_loopback_address(), free_port()
    if entry == "python -m app":
        command = [sys.executable, "-m", "app", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port)]
    proc = _start(command, port, tmp_path)
    try:
        _listens_only_on_loopback(address, port)
    finally:
        stop(proc)


def test_a_server_opened_to_the_network_still_serves_no_one_else(tmp_path):
    """`streamlit run app/main.py --server.address 0.0.0.0` listens on every interface, as asked: the app must
    still answer only this machine. Checked in Chromium from the loopback address and from the network one."""
    from playwright.sync_api import sync_playwright

    address, port = _non_loopback_address(), free_port()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port)]
    proc = _start([*command, "--server.address", "0.0.0.0"], port, tmp_path)
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
        stop(proc)
