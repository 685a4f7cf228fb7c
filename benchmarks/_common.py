"""What every benchmark's command line shares: `--smoke` (tiny sizes, run by tests/test_benchmarks.py) and, for
those that write results, `--out`. A file beside the scripts, imported as `_common`: benchmarks/ is not a package,
and a script's own folder is first on sys.path when it runs (the tests put it there too)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

SMOKE_HELP = "tiny sizes: checks in seconds that it runs"


def parse(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    smoke: dict,
    *,
    name: str | None = None,
    smoke_help: str = SMOKE_HELP,
) -> argparse.Namespace:
    """`parser`'s arguments, with `smoke`'s sizes as the defaults under --smoke (options given on the command line
    still win). With a `name`, `--out` too: by default runs/bench-NAME, or under --smoke a new temporary folder, so
    that a smoke run never overwrites a real run's results."""
    if name is not None:
        parser.add_argument(
            "--out", type=Path, help=f"default runs/bench-{name} (with --smoke: a new temporary folder)"
        )
    parser.add_argument("--smoke", action="store_true", help=smoke_help)
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(**smoke)
        args = parser.parse_args(argv)
    if name is not None and args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) if args.smoke else Path(f"runs/bench-{name}")
    return args


def status_kib(field: str) -> int:
    """A memory figure of this process from Linux's /proc/self/status, in KiB: "VmHWM" its peak resident size (its
    own address space's high-water mark; not getrusage's ru_maxrss, which Linux carries across exec, so a child
    can report its parent's peak), "VmRSS" its current one. Writing 5 to /proc/self/clear_refs restarts the peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status: memory is measured on Linux only")
