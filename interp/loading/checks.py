"""Checks that run before any loader touches a checkpoint or the hub, and the loading errors.

Each check turns what would be a deep stack trace from transformers (or a 20-second hang on an
offline hub) into one sentence that says what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "HUB_PROBE_SECONDS",
    "SAFE_SUFFIXES",
    "HubUnreachableError",
    "ModelLoadError",
    "NotACheckpointError",
    "UnknownModelError",
    "UnsupportedArchitectureError",
    "check_checkpoint_folder",
    "check_safetensors_file",
    "first_line",
    "hub_reachable",
    "probe_hub",
    "safe_view",
]

HUB_PROBE_SECONDS = 3.0
SAFE_SUFFIXES = (".json", ".safetensors", ".txt", ".model", ".tiktoken", ".jinja")
"""What a loader may see of a checkpoint folder: configs, safetensors weights and tokenizer files. Never a
pickle (.bin, .pt, .pth, .ckpt, .pkl): unpickling can run code, whatever else the folder holds."""


class ModelLoadError(ValueError):
    """A model spec could not be turned into a model; the message says what to do instead."""


class UnknownModelError(ModelLoadError):
    pass


class NotACheckpointError(ModelLoadError):
    pass


class UnsupportedArchitectureError(ModelLoadError):
    pass


class HubUnreachableError(ModelLoadError):
    pass


def check_checkpoint_folder(path: Path) -> None:
    """Refuse folders that are not safe, loadable Hugging Face checkpoints, before transformers tries."""
    if not path.is_dir():
        raise NotACheckpointError(
            f"{path} is a file, not a checkpoint folder; pass the folder holding config.json and the weights"
        )
    if not (path / "config.json").is_file():
        # no listing of what the folder holds: an app's error must not reveal a server's folders
        raise NotACheckpointError(f"{path} is not a Hugging Face checkpoint: it has no config.json")
    try:
        config = json.loads((path / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise NotACheckpointError(f"{path / 'config.json'} is not valid JSON: {err}") from err
    if "auto_map" in config:
        raise UnsupportedArchitectureError(
            f"{path} needs custom modelling code (config.json has auto_map); the workbench never runs code from "
            "a checkpoint"
        )
    # Weights only from safetensors: a pickle (.bin/.pt) can execute code when loaded. The loader is also shown
    # the safe files alone (`safe_view`), so a pickle beside a stray *.safetensors file is never read either.
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        raise NotACheckpointError(
            f"{path} has no *.safetensors weights; re-save it with model.save_pretrained(folder) "
            "(safetensors is the default) — pickled .bin weights are not loaded because unpickling can run code"
        )
    for file in weights:
        check_safetensors_file(file, error=NotACheckpointError)
    if not any(
        (path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
    ):
        raise NotACheckpointError(
            f"{path} has no tokenizer files; save one beside the weights with tokenizer.save_pretrained(folder)"
        )
    _check_architecture(config, path)


def first_line(err: Exception) -> str:
    """The first line of a loader's error (or its type's name): enough to say what failed in one sentence."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def check_safetensors_file(path: Path, *, error: type[ValueError] = NotACheckpointError) -> None:
    """Refuse a safetensors file that is not whole: its header must parse, and the file must be as long as the
    header says its tensors are (a truncated download fails here, not as a SafetensorError deep in a loader)."""
    try:
        with path.open("rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            size = path.stat().st_size
            if header_len > size - 8:
                raise ValueError(f"its header claims {header_len} bytes but the file holds {size}")
            header = json.loads(f.read(header_len))
    except (OSError, struct.error, ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise error(f"{path} is not a readable safetensors file ({err}); download or save it again") from err
    ends = [entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"]
    needed = 8 + header_len + max(ends, default=0)
    if size < needed:
        raise error(f"{path} is truncated: {size} bytes where its header needs {needed}; download or save it again")


@contextmanager
def safe_view(path: Path) -> Iterator[Path]:
    """A temporary folder of links to the checkpoint's safe files (`SAFE_SUFFIXES`) and nothing else: what
    transformers is given to load, so that it cannot fall back on a pickle it finds beside the weights."""
    with tempfile.TemporaryDirectory(prefix="interp-checkpoint-") as tmp:
        view = Path(tmp)
        for file in path.iterdir():
            if file.is_file() and file.suffix in SAFE_SUFFIXES:
                (view / file.name).symlink_to(file.resolve())
        yield view


def _check_architecture(config: dict, where: object) -> None:
    from transformer_lens.factories.architecture_adapter_factory import SUPPORTED_ARCHITECTURES
    from transformer_lens.model_bridge.sources.transformers import determine_architecture_from_hf_config
    from transformers import AutoConfig

    try:
        hf_config = AutoConfig.for_model(**config) if "model_type" in config else None
        if hf_config is None:
            raise ValueError("config.json has no model_type")
        determine_architecture_from_hf_config(hf_config)
    except (ValueError, KeyError) as err:
        archs = config.get("architectures") or [config.get("model_type", "?")]
        raise UnsupportedArchitectureError(
            f"{where}: architecture {', '.join(map(str, archs))} is not supported by TransformerLens "
            f"({len(SUPPORTED_ARCHITECTURES)} are, e.g. GPT2LMHeadModel, LlamaForCausalLM, GPTNeoXForCausalLM)"
        ) from err


def hub_reachable() -> bool:
    """False when HF_HUB_OFFLINE is set, else whether the hub answers a quick probe."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    return probe_hub()


def probe_hub(timeout: float = HUB_PROBE_SECONDS) -> bool:
    """Whether a TCP connection to the hub opens within `timeout` seconds.

    Run in a thread because name resolution ignores socket timeouts: without this, an offline
    machine waits ~20 s for huggingface_hub's own retries before failing.
    """
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(ok)
