"""What the tests start ends with them (tests/processes.py): a failing test, a process that ignores SIGTERM, and a
test process killed outright leave nothing running."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import descendants, started, stop

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_failing_test_stops_what_it_started_and_what_that_started():
    with pytest.raises(RuntimeError), started(["sh", "-c", "sleep 600 & sleep 600 & wait"]) as proc:
        _wait_for(lambda: len(descendants(proc.pid)) == 2)  # sh's two sleeps
        pids = [proc.pid, *(pid for pid, _ in descendants(proc.pid))]
        raise RuntimeError("the test fails here")
    assert not any(_alive(pid) for pid in pids)


def test_a_process_that_ignores_sigterm_is_killed():
    with started(["sh", "-c", "trap '' TERM; sleep 600 & wait"]) as proc:
        _wait_for(lambda: len(descendants(proc.pid)) == 1)
        pids = [proc.pid, *(pid for pid, _ in descendants(proc.pid))]
        began = time.time()
        stop(proc, grace=1)
    assert not any(_alive(pid) for pid in pids) and time.time() - began < 10


def test_a_killed_test_process_takes_its_children_with_it():
    # a stand-in for pytest that starts a server the way the tests do, then dies by SIGKILL (no cleanup runs)
    script = (
        "from tests.processes import popen; import time; "
        "p = popen(['sleep', '600']); print(p.pid, flush=True); time.sleep(600)"
    )
    with started([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        child = int(parent.stdout.readline())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        _wait_for(lambda: not _alive(child))  # PR_SET_PDEATHSIG: the kernel ends it with SIGTERM
