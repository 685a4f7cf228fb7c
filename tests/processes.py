"""Processes the tests start end with the test that started them: also when it fails, times out or is interrupted.

Every server, CLI run and worker job a test starts goes through `started`: the process leads a process group of
its own (so that stopping it stops what it started in turn: torchrun's workers, a launcher's streamlit), the
kernel sends it SIGTERM if the test process dies first (PR_SET_PDEATHSIG: even a SIGKILLed pytest leaves nothing
behind), and leaving the `with` block stops the whole group, politely and then by force. `conftest.py` checks
after the last test that no child of the test process is left (`descendants`)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["descendants", "free_port", "listening_sockets", "popen", "started", "stop", "wait_until_serving"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child between fork and exec only calls it


def _die_with_parent() -> None:
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def popen(command: list[str], **kwargs) -> subprocess.Popen:
    """`subprocess.Popen` in a process group of its own that dies with the test process."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)


def stop(proc: subprocess.Popen, *, grace: float = 20) -> None:
    """SIGTERM to the process's group; SIGKILL to the group after `grace` seconds, or at once once the leader
    has exited (what it started and did not stop goes with it)."""
    _signal_group(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):  # a server busy in a long analysis can outwait SIGTERM
        proc.wait(timeout=grace)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + grace  # SIGKILL is delivered at once, but a process takes a moment to end
    while _group(proc.pid) and time.time() < deadline:
        time.sleep(0.02)


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError):  # nothing of the group is left
        os.killpg(pgid, sig)


@contextmanager
def started(command: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    """The process running `command` while the block runs; stopped with everything it started when it ends."""
    proc = popen(command, **kwargs)
    try:
        yield proc
    finally:
        stop(proc)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(
    proc: subprocess.Popen, port: int, *, timeout: float = 120, poll: float = 0.5, log: str = ""
) -> float:
    """Seconds until the Streamlit server `proc` answers its health check on `port`; fails the test if it exits
    first or does not answer within `timeout` seconds (`log`: where its output went, for the message). Asks every
    `poll` seconds."""
    begun, where = time.perf_counter(), f" (see {log})" if log else ""
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return time.perf_counter() - begun
        except OSError:
            pass
        assert proc.poll() is None, f"streamlit exited at start-up{where}"
        assert time.perf_counter() - begun < timeout, f"streamlit did not answer its health check within {timeout} s"
        time.sleep(poll)


def _living() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process that has not ended, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        state, ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]  # after "pid (comm) "
        if state not in "ZX":  # a zombie has ended; it only waits to be reaped
            yield int(entry.name), int(ppid), int(pgrp)


def _group(pgid: int) -> list[int]:
    return [pid for pid, _, pgrp in _living() if pgrp == pgid]


def descendants(pid: int | None = None) -> list[tuple[int, str]]:
    """(pid, command line) of every living process below `pid` (default: this one), read from /proc."""
    pid = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for child, parent, _ in _living():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        found.append((child, cmdline))
        todo += children.get(child, [])
    return found


def listening_sockets(root: int) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket listening in process `root` or below it (torchrun puts its
    workers in sessions of their own), matched by inode between the processes' descriptors and /proc/net/tcp{,6}
    (what `ss -ltnp` reads)."""
    owners = {}
    for pid in [root, *(child for child, _ in descendants(root))]:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with suppress(OSError):  # it closed or ended while we looked
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[target[8:-1]] = pid
    found = []
    for table, width in (("tcp", 4), ("tcp6", 16)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in owners:  # state 0A: LISTEN
                hexaddr, hexport = fields[1].split(":")
                # the kernel prints the address as 32-bit words in host (little-endian) order
                raw = b"".join(bytes.fromhex(hexaddr[i : i + 8])[::-1] for i in range(0, 2 * width, 8))
                family = socket.AF_INET if width == 4 else socket.AF_INET6
                found.append((owners[fields[9]], socket.inet_ntop(family, raw), int(hexport, 16)))
    return found
