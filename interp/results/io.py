"""Results to JSON and back. Results hold exact numbers; they are rounded once, here, when saved."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from torch import Tensor

from interp.results.files import check_safetensors, read_json

__all__ = [
    "RENAMED",
    "SIGNIFICANT_DIGITS",
    "Floats",
    "Floats2",
    "Floats3",
    "load_folder",
    "load_json",
    "nested_tuple",
    "rounded",
    "save_folder",
    "save_json",
    "to_json",
]

T = TypeVar("T")

SIGNIFICANT_DIGITS = 7
"""Floats are saved to 7 significant digits: what a float32 holds, the dtype every analysis computes in."""

Floats = tuple[float, ...]
Floats2 = tuple[Floats, ...]
Floats3 = tuple[Floats2, ...]


def nested_tuple(t: Tensor) -> tuple:
    """A tensor (any number of dimensions) as nested tuples of exact floats."""
    values = t.detach().cpu().tolist()
    return tuple(values) if t.dim() == 1 else _tuples(values)  # 1-D at C speed: 70,651 edge scores took 25 ms


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def rounded(value: Any) -> Any:
    """JSON-ready data with every float rounded to `SIGNIFICANT_DIGITS` (tuples become lists): what is saved."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


def to_json(result: object) -> str:
    """A result dataclass as indented JSON with its type name, floats rounded to `SIGNIFICANT_DIGITS`."""
    return json.dumps({"type": type(result).__name__, **rounded(dataclasses.asdict(result))}, indent=2) + "\n"


def save_json(result: object, path: str | Path) -> Path:
    """Write a result dataclass as `to_json` gives it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(result))
    return path


RENAMED = {"kind": "analysis"}
"""Fields renamed since earlier versions saved them (PatchResult's `kind` is now `analysis`)."""


def load_json(cls: type[T], path: str | Path) -> T:
    """Read a result written by `save_json` back into `cls` (nested results and tuples rebuilt from the field
    types). Files of earlier versions load too: renamed keys are read under their new names, and keys the
    class no longer has (the SAE results' `kind`) are skipped."""
    return _result(cls, read_json(path, f"a saved {cls.__name__}"), path)


def _result(cls: type[T], data: Any, where: str | Path, **tensors: Tensor) -> T:
    """`cls` from parsed JSON (and, for a result saved by `save_folder`, its tensors): the type name checked,
    renamed keys read under their new names, keys the class no longer has skipped."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} holds no result: its JSON is not an object")
    saved = data.pop("type", cls.__name__)
    if saved != cls.__name__:
        raise ValueError(f"{where} holds a {saved}, not a {cls.__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    for old, new in RENAMED.items():
        if old in data and new in names and new not in data:
            data[new] = data.pop(old)
    return _build(cls, data | tensors)  # a tensor passes through _build as it is


def save_folder(result: object, folder: str | Path, stem: str) -> Path:
    """Write a result that holds tensors into `folder`: its tensor fields, exact, to `{stem}.safetensors`, and the
    rest as `to_json` writes a result (type name, floats rounded) to `{stem}.json`."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    tensors = {k: v.detach().cpu().contiguous() for k, v in values.items() if isinstance(v, Tensor)}
    save_file(tensors, str(folder / f"{stem}.safetensors"))
    rest = {
        k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for k, v in values.items() if k not in tensors
    }
    (folder / f"{stem}.json").write_text(json.dumps({"type": type(result).__name__, **rounded(rest)}, indent=1) + "\n")
    return folder


def load_folder(cls: type[T], folder: str | Path, stem: str, *, what: str) -> T:
    """Read what `save_folder` wrote back into `cls` (safetensors and JSON only: nothing is unpickled); a missing or
    damaged file is a ValueError that names the folder and `what` it should hold."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    for name in (f"{stem}.json", f"{stem}.safetensors"):
        if not (folder / name).is_file():
            raise ValueError(f"{folder} holds no {what}: {name} is missing")
    try:
        check_safetensors(folder / f"{stem}.safetensors")
    except ValueError as err:
        raise ValueError(f"{folder} holds a damaged {what}: {err}") from err
    try:
        data = read_json(folder / f"{stem}.json", what)
        tensors = load_file(str(folder / f"{stem}.safetensors"))
        return _result(cls, data, folder / f"{stem}.json", **tensors)
    except (TypeError, KeyError, AttributeError, OSError, SafetensorError) as err:  # ValueErrors name the file
        raise ValueError(f"{folder} holds a damaged {what}: {err}") from err


def _build(hint: Any, value: Any) -> Any:
    """`value` (parsed JSON) as the type `hint` describes: dataclasses from dicts, tuples from lists."""
    if value is None:
        return None
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        known = {f.name for f in dataclasses.fields(hint) if f.init}
        return hint(**{k: _build(hints[k], v) for k, v in value.items() if k in known})
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _build(arg, value)
        return _build(next((a for a in args if a is not type(None)), Any), value)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        if args and len(args) == len(value):
            return tuple(_build(a, v) for a, v in zip(args, value))
        return _tuples(value)
    if origin is dict and isinstance(value, dict):
        return {k: _build(args[1] if args else Any, v) for k, v in value.items()}
    return _tuples(value)
