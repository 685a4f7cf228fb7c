"""GGUF files (llama.cpp's format, how many models are shared) turned into a float checkpoint folder.

A GGUF file holds quantized weights and its tokenizer. TransformerLens cannot read one, and
dequantizing through transformers' GGUF support takes ~16-19 s for a 135M-parameter model on a
CPU, so `converted_folder(path)` dequantizes once into a safetensors folder in the user cache,
keyed by the file's sha256, and every later call reuses that folder (which loads in ~2-4 s). The
folder also holds `gguf-source.json`: which file, its hash and its quantization types, read back
by `weights_source` so that a model's facts say where its weights came from.

Two processes converting the same file at once take turns on a lock file; the folder appears
whole (it is written beside and renamed into place), so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import collections
import fcntl
import json
import shutil
import tempfile
from pathlib import Path

from interp.core.files import cache_root, file_sha256
from interp.core.limits import check_budget
from interp.loading.checks import NotACheckpointError, UnsupportedArchitectureError, check_claimed_size, first_line

__all__ = [
    "SOURCE_FILE",
    "converted_folder",
    "gguf_facts",
    "gguf_in_folder",
    "weights_source",
]

SOURCE_FILE = "gguf-source.json"
"""Written into each converted folder: the GGUF file it came from, its sha256 and quantization types."""

_MAGIC = b"GGUF"


def gguf_in_folder(folder: Path) -> Path | None:
    """The one GGUF file in `folder`, None when it has none; several are refused (which one was meant?)."""
    found = sorted(folder.glob("*.gguf"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise NotACheckpointError(f"{folder} holds {len(found)} GGUF files ({names}); give the path of one of them")
    return found[0] if found else None


def gguf_facts(path: Path) -> dict:
    """Architecture, name, file type and the count of tensors per quantization type, read from the header.

    Raises `NotACheckpointError` for a file that is not GGUF, `UnsupportedArchitectureError` for an
    architecture transformers cannot dequantize.
    """
    with path.open("rb") as f:
        if f.read(4) != _MAGIC:
            raise NotACheckpointError(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)")
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(path))
        arch = _field(reader, "general.architecture")
        types = collections.Counter(t.tensor_type.name for t in reader.tensors)
        weights = sum(int(t.n_elements) for t in reader.tensors)
    except Exception as err:  # the reader raises ValueError, KeyError, struct errors... on a damaged file
        raise NotACheckpointError(f"{path} could not be read as GGUF: {first_line(err)}") from err
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    readable = sorted(set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"})
    if arch not in readable:
        raise UnsupportedArchitectureError(
            f"{path.name} holds a {arch!r} model, an architecture transformers cannot read from GGUF (it reads "
            f"{', '.join(readable)}); convert it to a Hugging Face folder with llama.cpp's tools instead"
        )
    return {
        "architecture": arch,
        "name": _field(reader, "general.name") or path.stem,
        "tensor_types": dict(types.most_common()),
        "weights": weights,
    }


def _field(reader, key: str) -> str | None:
    field = reader.fields.get(key)
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")


def converted_folder(path: Path, *, sha256: str | None = None, progress=None) -> Path:
    """The float safetensors folder converted from the GGUF file at `path`, made on first use.

    `sha256`: the file's hash when the caller has just checked it (a fetched zoo model), so that the file is
    not read twice. `progress(message)` (optional) hears about the slow first conversion.
    """
    path = path.resolve()
    digest = sha256 or file_sha256(path)
    folder = cache_root() / "gguf" / digest[:32]
    if (folder / SOURCE_FILE).is_file():
        return folder
    facts = gguf_facts(path)
    _check_claimed_size(path, facts["weights"])  # before anything is written to the cache
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f"{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be converting the same file: wait for it
        if (folder / SOURCE_FILE).is_file():
            return folder
        if progress is not None:
            progress(f"dequantizing {path.name} to float32 once (about 20 s for 135M parameters); cached in {folder}")
        scratch = Path(tempfile.mkdtemp(prefix=".convert-", dir=folder.parent))
        try:
            _convert(path, scratch)
            record = {"file": path.name, "sha256": digest, **facts}
            (scratch / SOURCE_FILE).write_text(json.dumps(record, indent=2))
            shutil.rmtree(folder, ignore_errors=True)  # a folder without SOURCE_FILE is a leftover, never whole
            scratch.rename(folder)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _check_claimed_size(path: Path, held: int) -> None:
    """Refuse a file whose metadata describes a model far larger than the weights it holds (check_claimed_size), or
    one too large to dequantize within the memory budget, before transformers allocates it."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise NotACheckpointError(f"{path} could not be dequantized: {first_line(err)}") from err
    claimed = check_claimed_size(config, held, f"{path}'s metadata")
    check_budget(
        3 * 4 * claimed,  # the dequantized model, its rebuilt copy and the state dict between them, in float32
        what=f"dequantizing {path.name} ({claimed:,} parameters)",
        advice="convert it where there is more memory, or raise INTERP_MEMORY_GB",
    )


def _convert(path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        quantized = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise NotACheckpointError(f"{path} could not be dequantized: {first_line(err)}") from err
    # save_pretrained refuses a model that still carries its GGUF quantization_config: rebuild it from the
    # config without one, and move the (already float) weights across.
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    config["architectures"] = [type(quantized).__name__]
    model = AutoModelForCausalLM.from_config(type(quantized.config).from_dict(config), dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def weights_source(folder: Path) -> str | None:
    """One line on where a converted folder's weights came from; None for any other folder."""
    try:
        record = json.loads((folder / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return None
    types = ", ".join(f"{name} x{count}" for name, count in record.get("tensor_types", {}).items())
    return f"dequantized to float32 from GGUF {record.get('file')} (tensor types: {types}; sha256 {record['sha256']})"
