"""Where a worker job listens: every socket of `sae train --workers N` on the address the user names, loopback
by default (docs/distributed.md, "Who can reach a running job").

torch's TCPStore always listens on every interface (it binds `::` whatever host it is given) and has no
authentication, so a job started with torchrun's defaults can be reached by anyone on the network while it
runs. TCPStore does accept a socket the caller has already bound (`master_listen_fd`), and that is how every
store of a job is opened here: the launcher's rendezvous store (sae.launcher) and the workers' own store
(sae.distributed). The transports take their interface from GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME, which the
launcher sets to the interface holding the address.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["BIND_ENV", "Binding", "listening_store", "resolve_binding"]

BIND_ENV = "INTERP_DIST_BIND"
"""The address or interface name a worker job listens on (the `--bind` option's environment variable). Unset:
loopback, which is all a job on one machine needs."""

_SIOCGIFADDR = 0x8915  # Linux's ioctl for an interface's IPv4 address


@dataclass(frozen=True)
class Binding:
    """An IPv4 `address` and the `interface` that holds it."""

    address: str
    interface: str


def _interface_addresses() -> dict[str, str]:
    """interface name -> its IPv4 address, for this machine's interfaces that have one.
    Why by hand: the standard library lists interface names but not their addresses, and psutil is not a
    dependency; the ioctl is what `ip addr` asks the kernel."""
    found = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                reply = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:  # an interface without an IPv4 address
                continue
            found[name] = socket.inet_ntoa(reply[20:24])
    return found


def resolve_binding(value: str | None = None) -> Binding:
    """The binding `value` names: an interface name (`eth0`), one of its IPv4 addresses, or nothing (then
    $INTERP_DIST_BIND, then loopback). Anything this machine does not have is refused with the list of what it
    has: binding it would fail later, inside torch, with a less helpful message."""
    value = (value if value is not None else os.environ.get(BIND_ENV, "")).strip()
    interfaces = _interface_addresses()
    if not value:
        loopback = [name for name, address in interfaces.items() if ipaddress.ip_address(address).is_loopback]
        if not loopback:
            raise ValueError("this machine has no loopback interface with an IPv4 address: give --bind ADDRESS")
        return Binding(interfaces[loopback[0]], loopback[0])
    if value in interfaces:
        return Binding(interfaces[value], value)
    holders = [name for name, address in interfaces.items() if address == value]
    if holders:
        return Binding(value, holders[0])
    have = ", ".join(f"{name} {address}" for name, address in interfaces.items())
    raise ValueError(
        f"--bind / {BIND_ENV} = {value!r} is neither an interface of this machine nor one of its IPv4 addresses "
        f"(it has: {have})"
    )


def listening_store(address: str, port: int, *, world_size: int | None = None, timeout: timedelta, **kwargs):
    """A TCPStore server listening on `address:port` only (port 0: a free one, read back from `.port`), or None
    when that port is taken there (on a rendezvous host shared by two launchers, the other one hosts it)."""
    import torch.distributed as dist

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
        listener.listen(socket.SOMAXCONN)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            return None
        raise
    # The store owns the socket from here on (it closes it when it is destroyed).
    return dist.TCPStore(
        address,
        listener.getsockname()[1],
        world_size,
        is_master=True,
        timeout=timeout,
        master_listen_fd=listener.detach(),
        wait_for_workers=False,
        **kwargs,
    )
