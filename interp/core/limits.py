"""Limits on what a request may ask for, checked before any work starts: counts must be whole and positive,
configs must hold values of their declared types, and what an analysis holds in memory must fit.

An analysis that would hold more than the memory budget is refused at once with the largest size that fits,
instead of growing until the machine swaps (a 100,000-prompt patching request grew to 13.6 GB before its
first patch). The budget is half the memory available when the call starts (free GPU memory on a GPU), or
`INTERP_MEMORY_GB` when set. The estimates are of what the analysis keeps at once (its caches, logits,
gradients, one layer's forward intermediates), written next to each call; they err large, not small.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping
from typing import Any

import torch

from interp.core.locking import lock_free
from interp.vocab.types import Model

__all__ = [
    "FALLBACK_BUDGET",
    "MEMORY_ENV",
    "byte_size",
    "check_budget",
    "check_count",
    "check_fields",
    "check_fits",
    "memory_budget",
    "prompt_bytes",
]

MEMORY_ENV = "INTERP_MEMORY_GB"
FALLBACK_BUDGET = 4 * 2**30
"""The CPU budget where the system does not say how much memory is available."""


def check_count(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> None:
    """A whole number in [minimum, maximum], or a ValueError naming `name`, the value and the range."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be a whole number of at least {minimum}{upper}; got {value!r}")


def memory_budget(device: torch.device | str) -> int:
    """Bytes one call may hold: INTERP_MEMORY_GB, else half the available memory of `device`."""
    if os.environ.get(MEMORY_ENV):
        return int(float(os.environ[MEMORY_ENV]) * 2**30)
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # no such counter (macOS, Windows): assume a modest machine
        return FALLBACK_BUDGET


def byte_size(n_bytes: float) -> str:
    """A size for a message: TiB, GiB or MiB, whichever reads best."""
    for unit, scale, digits in (("TiB", 2**40, 0), ("GiB", 2**30, 1)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.{digits}f} {unit}"
    return f"{n_bytes / 2**20:.2f} MiB"


def check_budget(need: int, *, what: str, advice: str, device: torch.device | str = "cpu") -> None:
    """Refuse `need` bytes beyond the memory budget before they are allocated: "{what} would take ..., more than
    the memory budget of ... (INTERP_MEMORY_GB): {advice}"."""
    budget = memory_budget(device)
    if need > budget:
        raise ValueError(
            f"{what} would take {byte_size(need)}, more than the memory budget of {byte_size(budget)} "
            f"({MEMORY_ENV}): {advice}"
        )


@lock_free("config sizes and free memory")
def prompt_bytes(
    model: Model, n_pos: int, *, residuals: float, logits: float, extra_per_pos: int = 0, extra: int = 0
) -> int:
    """What one prompt of `n_pos` tokens holds: `residuals` d_model-wide vectors per position and layer (caches,
    keys and values, gradients), `logits` full-vocabulary rows per position, `extra_per_pos` more numbers per
    position, `extra` more numbers per prompt, and one layer's forward intermediates (attention patterns, the
    MLP's hidden layer)."""
    cfg = model.cfg
    elem = torch.finfo(next(model.parameters()).dtype).bits // 8
    d_mlp = 0 if cfg.attn_only else (cfg.d_mlp or 4 * cfg.d_model)
    forward = 6 * cfg.d_model + 2 * d_mlp + 3 * cfg.n_heads * n_pos
    per_pos = residuals * cfg.n_layers * cfg.d_model + logits * cfg.d_vocab + forward + extra_per_pos
    return int((n_pos * per_pos + extra) * elem)


@lock_free("config sizes and free memory")
def check_fits(model: Model, n_prompts: int, per_prompt: int, *, what: str, unit: str = "prompts") -> None:
    """Refuse, naming the largest count that fits, when `n_prompts` x `per_prompt` bytes exceed the budget."""
    budget = memory_budget(next(model.parameters()).device)
    need = n_prompts * per_prompt
    if need > budget:
        fit = max(0, budget // max(per_prompt, 1))
        raise ValueError(
            f"{what} on {n_prompts} {unit} would hold about {need / 2**30:.1f} GiB, more than the memory budget of "
            f"{budget / 2**30:.1f} GiB: at most {fit} {unit} fit (set {MEMORY_ENV} to change the budget)"
        )


def check_fields(cls: type, values: Mapping[str, Any]) -> None:
    """The `values` given for a config dataclass's fields have the declared types: whole numbers where an int
    is declared (not 1024.5, not "1024", not True), finite numbers where a float is, text where a str is.
    Called on a config file's values before the dataclass is built, and from `__post_init__`."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value, hint = values[f.name], hints[f.name]
        if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{f.name} must be a whole number, got {value!r}")
        if hint is float and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        ):
            raise ValueError(f"{f.name} must be a finite number, got {value!r}")
        if hint is str and not isinstance(value, str):
            raise ValueError(f"{f.name} must be text, got {value!r}")
