"""`python -m sae.launcher TORCHRUN-ARGS`: torchrun, with a rendezvous backend whose store listens only on the
job's binding (sae.binding) instead of every interface. `launch` builds the command `sae train --workers N` runs.

Why a backend of our own: torchrun's c10d backend opens its TCPStore on all interfaces, and torch offers no
option to change that; its documented extension point for rendezvous is the handler registry, used here. The
rest (starting, watching and ending the workers) is torchrun's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

from sae.binding import BIND_ENV, listening_store, resolve_binding

__all__ = ["BACKEND", "launch", "main"]

BACKEND = "interp-bound"
DEFAULT_PORT = 29400  # torchrun's for c10d


def _bound_handler(params):
    """A c10d rendezvous handler whose store, when this machine hosts it, listens on $INTERP_DIST_BIND only."""
    import socket

    import torch.distributed as dist
    from torch.distributed.elastic.rendezvous.c10d_rendezvous_backend import C10dRendezvousBackend
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import create_handler
    from torch.distributed.elastic.rendezvous.utils import parse_rendezvous_endpoint

    host, port = parse_rendezvous_endpoint(params.endpoint, default_port=DEFAULT_PORT)
    timeout = timedelta(seconds=params.get_as_int("read_timeout", 60))
    address = resolve_binding().address
    store = None
    if socket.gethostbyname(host) == address:  # the rendezvous is on this machine: host it, unless another does
        store = listening_store(address, port, timeout=timeout, multi_tenant=True)
    if store is None:
        store = dist.TCPStore(host, port, is_master=False, timeout=timeout)

    class Backend(C10dRendezvousBackend):  # torchrun checks that the backend answers to the name it asked for
        @property
        def name(self) -> str:
            return BACKEND

    return create_handler(store, Backend(store, params.run_id), params)


def main(argv: list[str] | None = None) -> None:
    from torch.distributed.elastic.rendezvous import rendezvous_handler_registry
    from torch.distributed.run import main as torchrun

    rendezvous_handler_registry.register(BACKEND, _bound_handler)
    torchrun(argv)


def launch(
    argv: list[str], n_workers: int, *, nodes: int = 1, rendezvous: str | None = None, bind: str | None = None
) -> int:
    """Run `sae ARGV` as `n_workers` worker processes on this machine under torchrun; returns its exit status.
    One machine (`nodes` 1): every socket of the job on loopback, or on `bind` (an address or interface name).
    Several: the same call on each machine, `rendezvous` HOST:PORT naming the one that hosts the rendezvous, and
    `bind` the address the others reach this one by. torchrun's own defaults apply: OMP_NUM_THREADS=1 per worker
    unless set, and no restarts (a failed worker ends the job; rerunning the command resumes it)."""
    if nodes > 1 and not rendezvous:
        raise ValueError(f"a job on {nodes} machines needs --rendezvous HOST:PORT, the same on every machine")
    binding = resolve_binding(bind)
    env = {
        **os.environ,
        BIND_ENV: binding.address,
        # the transports' own listening sockets: gloo's pairs and NCCL's bootstrap, on the same interface
        "GLOO_SOCKET_IFNAME": binding.interface,
        "NCCL_SOCKET_IFNAME": binding.interface,
        # the launcher shares no store of its own with the workers: theirs is opened bound (sae.distributed)
        "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "sae.launcher",
        f"--nnodes={nodes}",
        f"--nproc_per_node={n_workers}",
        f"--rdzv_backend={BACKEND}",
        f"--rdzv_endpoint={rendezvous or binding.address + ':0'}",
        f"--rdzv_id={'interp-sae-job' if nodes > 1 else uuid.uuid4()}",
        f"--local_addr={binding.address}",
        "--max_restarts=0",
        "-m",
        "sae.cli",
        *argv,
    ]
    return subprocess.run(command, check=False, env=env).returncode


if __name__ == "__main__":
    main()
