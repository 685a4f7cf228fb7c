"""Checks that run before any loader touches a checkpoint or the hub, and the loading errors.

Each check turns what would be a deep stack trace from transformers (or a 20-second hang on an
offline hub) into one sentence that says what is wrong and what to do.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from interp.results import check_safetensors, read_json

__all__ = [
    "HUB_PROBE_SECONDS",
    "SAFE_SUFFIXES",
    "HubUnreachableError",
    "ModelLoadError",
    "NotACheckpointError",
    "UnknownModelError",
    "UnsupportedArchitectureError",
    "check_checkpoint_folder",
    "check_claimed_size",
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
        config = read_json(path / "config.json", "a model's config")
    except ValueError as err:
        raise NotACheckpointError(str(err)) from err
    if not isinstance(config, dict):
        raise NotACheckpointError(f"{path / 'config.json'} holds a {type(config).__name__}, not a model's config")
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
    held = sum(check_safetensors_file(file, error=NotACheckpointError) for file in weights)
    if not any(
        (path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
    ):
        raise NotACheckpointError(
            f"{path} has no tokenizer files; save one beside the weights with tokenizer.save_pretrained(folder)"
        )
    _check_architecture(config, path)
    from transformers import AutoConfig

    try:
        parsed = AutoConfig.for_model(**config)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise NotACheckpointError(f"{path / 'config.json'} is not a usable model config ({first_line(err)})") from err
    check_claimed_size(parsed, held, path / "config.json")


def check_claimed_size(config: Any, held: int, where: object) -> int:
    """The parameter count a transformers `config` describes, counted on the meta device (nothing allocated),
    refused when it is far more than the `held` weights of the files: a damaged or incomplete config would
    otherwise make transformers allocate a model of any size before loading a single weight (sizes a GGUF file's
    metadata lacks default to transformers' own: a 6.6B-parameter llama). The slack allows for what a file may
    leave out and transformers rebuilds: an untied output layer, buffers."""
    try:
        claimed = _parameters(config)
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as err:
        raise NotACheckpointError(
            f"{where} does not describe a model transformers can build ({first_line(err)})"
        ) from err
    if claimed > 2 * held + 1_000_000:
        raise NotACheckpointError(
            f"{where} describes a model of {claimed:,} parameters, but the weights hold {held:,}: the config is "
            "incomplete or damaged"
        )
    return claimed


def _parameters(config: Any) -> int:
    """The parameters of the model `config` describes, counted on the meta device. Counted for one and two layers
    and extrapolated when it has more: building a damaged config's 20,000 layers, even on the meta device, takes
    a minute, and layers are alike in the parameters they hold."""
    import copy

    import torch
    from transformers import AutoModelForCausalLM

    def count(c: Any) -> int:
        with torch.device("meta"):
            return sum(p.numel() for p in AutoModelForCausalLM.from_config(c).parameters())

    layers = getattr(config, "num_hidden_layers", None)
    if not isinstance(layers, int) or layers <= 2:
        return count(config)
    sizes = []
    for n in (1, 2):
        short = copy.deepcopy(config)
        short.num_hidden_layers = n
        if isinstance(getattr(short, "layer_types", None), list):  # per-layer kinds (sliding/full attention)
            short.layer_types = short.layer_types[:n]
        sizes.append(count(short))
    return sizes[0] + (layers - 1) * (sizes[1] - sizes[0])


def first_line(err: Exception) -> str:
    """The first line of a loader's error (or its type's name): enough to say what failed in one sentence."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def check_safetensors_file(path: Path, *, error: type[ValueError] = NotACheckpointError) -> int:
    """`interp.results.check_safetensors` (the elements the file holds), refused as a NotACheckpointError by
    default."""
    return check_safetensors(path, error=error)


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
