"""Reading the files users hand the workbench, whatever state they are in. Each reader turns what a damaged file
makes a parser raise (a decoding error, a RecursionError from 100,000 nested brackets, a SafetensorError) into
one ValueError that names the file and what it should have held, which the commands print as one line
(tests/test_fuzz_readers.py feeds every reader of the workbench damaged files). In results, the lowest layer
that reads files, so that every layer above can use them."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

__all__ = ["check_safetensors", "parse_json", "read_json", "read_lines", "read_safetensors", "read_text"]

_DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2}
_DTYPE_BYTES |= {"I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def read_text(path: str | Path, what: str) -> str:
    """The file's UTF-8 text; anything else is a ValueError naming the file and `what` it should hold."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text, so not {what} (byte {err.start}: {err.reason})") from err


def parse_json(text: str | bytes, where: str | Path, what: str) -> Any:
    """`text` parsed as JSON, or a ValueError naming `where` it came from (a file, a file's line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not valid JSON, so not {what} ({err})") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{where} is not UTF-8 text, so not {what} (byte {err.start}: {err.reason})") from err
    except RecursionError as err:  # the decoder recurses once per level: 100,000 brackets exhaust the stack
        raise ValueError(f"{where} nests deeper than a JSON reader can follow, so it is not {what}") from err


def read_json(path: str | Path, what: str) -> Any:
    """The file's parsed JSON (any value: the caller checks its shape), or a ValueError naming the file."""
    return parse_json(read_text(path, what), path, what)


def read_lines(path: str | Path, what: str) -> list[str]:
    """The non-empty lines of a UTF-8 text file, stripped: a file of `what`, one per line. A file that is missing,
    not text, or holds no line is refused, naming it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no file of {what} at {path}: give a text file with one per line")
    lines = [line.strip() for line in read_text(path, what).splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path} holds no {what}: write one per line")
    return lines


def check_safetensors(path: Path, *, error: type[ValueError] = ValueError) -> int:
    """Refuse a safetensors file that is not whole, before a loader maps it: its header must parse, each tensor's
    bytes must be what its shape and dtype need, and the file as long as the header says its tensors are (a
    truncated download or a header whose sizes lie fails here, not as a SafetensorError deep in a loader).
    Returns the number of elements its tensors hold, which callers compare with what a config claims."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > size - 8:
                raise ValueError(f"its header claims {header_len} bytes but the file holds {size}")
            header = parse_json(f.read(header_len), "its header", "a safetensors header")
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
        ends, elements = [], 0
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, end = (int(x) for x in entry["data_offsets"])
            count = math.prod(int(n) for n in entry["shape"])
            need = count * _DTYPE_BYTES[entry["dtype"]]
            if end - start != need or start < 0:
                raise ValueError(
                    f"tensor {name!r} of shape {entry['shape']} needs {need} bytes; its offsets give {end - start}"
                )
            ends.append(end)
            elements += count
    except (OSError, struct.error, ValueError, KeyError, TypeError, AttributeError) as err:
        raise error(f"{path} is not a readable safetensors file ({err}); download or save it again") from err
    needed = 8 + header_len + max(ends, default=0)
    if size < needed:
        raise error(f"{path} is truncated: {size} bytes where its header needs {needed}; download or save it again")
    return elements


def read_safetensors(path: str | Path, what: str) -> dict:
    """The tensors of a safetensors file, checked whole first (`check_safetensors`); errors name the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    check_safetensors(path)
    try:
        return load_file(str(path))
    except SafetensorError as err:
        raise ValueError(f"{path} is not a readable safetensors file, so not {what} ({err})") from err
