"""The round trip of a saved result: what the tests assert about `save_json` / `load_json`."""

import dataclasses
import math
from pathlib import Path

from interp.results import SIGNIFICANT_DIGITS, load_json, save_json, to_json


def _close(a, b, where: str = "") -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=10 ** (1 - SIGNIFICANT_DIGITS)), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def assert_round_trip(result: object, path: Path) -> object:
    """Save `result`, load it back, and check it: the same type and fields, floats equal to the digits saving
    keeps, tuples still tuples, and saving the loaded result writes the same file (saving rounds once)."""
    loaded = load_json(type(result), save_json(result, path))
    assert type(loaded) is type(result)
    _close(dataclasses.asdict(loaded), dataclasses.asdict(result))
    assert to_json(loaded) == to_json(result)
    return loaded
