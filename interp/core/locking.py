"""One model, many callers: every analysis holds its model's lock from start to end.

TransformerLens hooks are forward hooks on modules that every caller of a model object shares. While one
thread runs with hooks installed, another thread's forward pass on the same model runs through them: its
numbers come out silently wrong (two app sessions patching at once got up to 10.9 logits off), and fast
patching, whose hooks add rows to the batch, crashes. So each model gets one re-entrant lock, and the
library holds it around everything that runs the model: every public analysis (`@exclusive`), a `hooks()`
block, and `run_with_cache`. Calls on the same model run one after the other; calls on different models
still run in parallel; an analysis that calls another (`head_circuit` runs `patch`) re-enters its own lock.

Why a lock and not hooks that only fire for their own caller: a thread-aware hook would still leave the
forward pass of an unhooked analysis (`evaluate_task`, a DLA cache run) exposed to another caller's hooks,
and the model's own state (TransformerBridge's hook registry, the KV-cache objects fast patching hands it)
is shared too. A lock makes every result exactly the result of the same call alone. Its cost on a single
caller is one uncontended RLock acquire per call (measured in `benchmarks/locking.py`).

A public function that takes a model and needs no lock of its own (it reads the config, the tokenizer or the
weights, or takes the lock itself) says so with `@lock_free(reason)`: tests/test_concurrency.py requires one of the
two marks on every public function with a `model` argument, so that a new analysis cannot forget its lock.

A script that calls `model(...)` directly, outside the library, is not covered: wrap such code in
`with model_lock(model):`.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["exclusive", "lock_free", "model_lock"]

F = TypeVar("F", bound=Callable[..., Any])

_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def lock_free(reason: str) -> Callable[[F], F]:
    """Mark a public function that takes a model but runs no forward pass that needs the lock, with the reason."""
    if not reason.strip():
        raise ValueError("say why the function needs no lock")

    def mark(fn: F) -> F:
        fn.__lock_free__ = reason  # type: ignore[attr-defined]  (read by tests/test_concurrency.py)
        return fn

    return mark


@lock_free("the lock itself")
def model_lock(model: Any) -> threading.RLock:
    """The re-entrant lock of one model object (made on first use)."""
    lock = _LOCKS.get(model)
    if lock is None:
        with _GUARD:  # two threads asking at once must get the same lock
            lock = _LOCKS.setdefault(model, threading.RLock())
    return lock


def exclusive(fn: F) -> F:
    """Run `fn` holding the lock of its `model` argument (by keyword, or at its position)."""
    names = list(inspect.signature(fn).parameters)
    if "model" not in names:
        raise TypeError(f"{fn.__qualname__} takes no `model` argument to lock")
    position = names.index("model")

    @functools.wraps(fn)
    def locked(*args: Any, **kwargs: Any) -> Any:
        model = kwargs["model"] if "model" in kwargs else args[position]
        with model_lock(model):
            return fn(*args, **kwargs)

    locked.__exclusive__ = True  # type: ignore[attr-defined]  (tests/test_concurrency.py checks every analysis)
    return locked  # type: ignore[return-value]
