"""Counting steps of long work for a `progress(done, total)` callback (interp.vocab.types.Progress)."""

from __future__ import annotations

from collections.abc import Callable

from interp.vocab.types import Progress

__all__ = ["step_counter"]


def step_counter(progress: Progress | None, total: int) -> Callable[..., None]:
    """A function to call after each of `total` steps, `step()`, or after `n` of them at once, `step(n)` (steps
    skipped count too): it reports `progress(done, total)` (nothing when `progress` is None)."""
    done = 0

    def step(n: int = 1) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    return step
