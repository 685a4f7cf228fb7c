"""Checks that run before any loader touches a checkpoint or the hub, and the loading errors.

Each check turns what would be a deep stack trace from transformers (or a 20-second hang on an
offline hub) into one sentence that says what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

__all__ = [
    "HUB_PROBE_SECONDS",
    "HubUnreachableError",
    "ModelLoadError",
    "NotACheckpointError",
    "UnknownModelError",
    "UnsupportedArchitectureError",
    "check_checkpoint_folder",
    "hub_reachable",
    "probe_hub",
]

HUB_PROBE_SECONDS = 3.0


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
        found = ", ".join(sorted(p.name for p in path.iterdir())[:10]) or "nothing"
        raise NotACheckpointError(f"{path} is not a Hugging Face checkpoint: it has no config.json (found: {found})")
    try:
        config = json.loads((path / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise NotACheckpointError(f"{path / 'config.json'} is not valid JSON: {err}") from err
    if "auto_map" in config:
        raise UnsupportedArchitectureError(
            f"{path} needs custom modelling code (config.json has auto_map); the workbench never runs code from "
            "a checkpoint"
        )
    # Weights only from safetensors: a pickle (.bin/.pt) can execute code when loaded.
    if not any(path.glob("*.safetensors")):
        raise NotACheckpointError(
            f"{path} has no *.safetensors weights; re-save it with model.save_pretrained(folder) "
            "(safetensors is the default) — pickled .bin weights are not loaded because unpickling can run code"
        )
    if not any(
        (path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
    ):
        raise NotACheckpointError(
            f"{path} has no tokenizer files; save one beside the weights with tokenizer.save_pretrained(folder)"
        )
    _check_architecture(config, path)


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
