"""Model loading: a spec (zoo name, official name or folder) in, a hooked model out.

`load_model(spec)` accepts a zoo name (`zoo:NAME`), a TransformerLens official model name, a
local Hugging Face checkpoint folder, or a GGUF file (or a folder holding one; dequantized once into
a cached float folder by `interp.loading.gguf`), and returns a `TransformerBridge` in compatibility mode:
HookedTransformer's hook names, caches and weight processing (folded LayerNorm, centred weights),
on the class TransformerLens keeps after 4.0. `HookedTransformer.from_pretrained` cannot load a
local folder at all (it insists on an official name and calls the hub), which rules it out here.

This is the only module that knows which TransformerLens class backs a model. It loads, and nothing
else: tokenization is `interp.core.tokens`, the site table `interp.core.sites`, model facts
`interp.observe.overview`.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from interp.loading.checks import (
    SAFE_SUFFIXES,
    HubUnreachableError,
    ModelLoadError,
    NotACheckpointError,
    UnknownModelError,
    UnsupportedArchitectureError,
    check_checkpoint_folder,
    first_line,
    hub_reachable,
    safe_view,
)
from interp.loading.gguf import converted_folder, gguf_in_folder, weights_source
from interp.loading.spec import ModelSpec, parse_spec
from interp.results import read_json
from interp.vocab.choices import DType, check_choice
from interp.vocab.types import Model
from interp.zoo import ZOO

# The loading errors are part of this module's surface: callers catch them from here.
__all__ = [
    "EDIT_STEM",
    "HubUnreachableError",
    "ModelLoadError",
    "NotACheckpointError",
    "UnknownModelError",
    "UnsupportedArchitectureError",
    "load_model",
    "resolve_device",
    "resolve_dtype",
]

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`auto` picks CUDA when present, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but no CUDA device is available; use 'cpu' or 'auto'")
    return dev


def resolve_dtype(dtype: DType | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        check_choice(dtype, DType, "dtype")
    except ValueError as err:
        raise ModelLoadError(str(err)) from err
    return DTYPES[dtype]


def load_model(
    spec: str | os.PathLike,
    *,
    device: str | torch.device = "auto",
    dtype: DType | torch.dtype = "float32",
    progress: Callable[[str], None] | None = None,
    device_map: str | dict[str, str | int] | None = None,
) -> Model:
    """Load a model by zoo name (`zoo:NAME`), TransformerLens official name, or local folder.

    Returns a `TransformerBridge` with HookedTransformer-compatible hooks and weight processing,
    on `device` in `dtype`, with `model.cfg.model_name` set to the spec it was loaded from.
    Raises a `ModelLoadError` subclass whose message says what went wrong and what to do.
    `progress(message)` hears about slow first-time steps (a download, a GGUF conversion).

    `device_map` (instead of `device`) places the layers of a model too large for one GPU across several:
    "auto" or "balanced" (accelerate's placement over the visible GPUs), or Hugging Face's dict of module
    name -> device. It applies to transformers checkpoints (hub names, folders, the fetched zoo models);
    TransformerLens's bridge dispatches the model with accelerate, and `interp.core.hooks` hands every hook
    its activation on the model's first device, so analyses combine tensors on one device; DLA by neuron is
    refused on such a model (docs/distributed.md says what has and has not run on GPUs).
    """
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    dev = _Placement(device_map) if device_map is not None else dev
    parsed = parse_spec(spec)
    text = parsed.text
    if parsed.kind == "zoo":
        model = _load_zoo(parsed, dev, dt, progress)
    elif parsed.kind == "path":
        model = _load_local(parsed.path, dev, dt, progress)
    elif (official := _official_name(text)) is not None:
        model = _load_official(official, dev, dt)
    elif os.sep in text or text.startswith((".", "~")):
        raise NotACheckpointError(
            f"no folder at {text}; give the path of a checkpoint folder, a zoo:NAME or an official model name"
        )
    else:
        raise UnknownModelError(_unknown_model_message(text))
    model.cfg.model_name = text
    model.eval()
    log.info(
        "loaded %s: %d layers, %d heads, n_ctx %d on %s",
        text,
        model.cfg.n_layers,
        model.cfg.n_heads,
        model.cfg.n_ctx,
        dev,
    )
    return model


@dataclass(frozen=True)
class _Placement:
    """A device_map, carried through the loaders in place of a device (only transformers checkpoints take it)."""

    device_map: str | dict[str, str | int]


def _unknown_model_message(spec: str) -> str:
    from transformer_lens.supported_models import MODEL_ALIASES, OFFICIAL_MODEL_NAMES

    zoo = ", ".join(f"zoo:{n}" for n in ZOO)
    known = [
        *OFFICIAL_MODEL_NAMES,
        *(a for aliases in MODEL_ALIASES.values() for a in aliases),
        *(f"zoo:{n}" for n in ZOO),
    ]
    close = difflib.get_close_matches(spec, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"unknown model {spec!r}.{hint} Zoo models: {zoo}. TransformerLens official names "
        f"({len(OFFICIAL_MODEL_NAMES)} of them, e.g. gpt2, pythia-70m) load from the Hugging Face hub. "
        "For a checkpoint on disk, pass the path of its folder (config.json, *.safetensors, tokenizer files)."
    )


def _load_zoo(spec: ModelSpec, device: torch.device | _Placement, dtype: torch.dtype, progress=None) -> Model:
    entry = spec.entry
    if entry is None:
        raise UnknownModelError(f"no zoo model {spec.asked!r}; the zoo has: {', '.join('zoo:' + n for n in ZOO)}")
    name = entry.name
    if entry.fetched is not None:
        from interp.loading.fetch import fetch

        # fetch has checked the file's hash: the conversion is keyed by it without reading the file again
        gguf = fetch(name, entry.fetched, progress=progress)
        return _load_local(converted_folder(gguf, sha256=entry.fetched.sha256, progress=progress), device, dtype)
    if not entry.is_built:
        raise NotACheckpointError(
            f"zoo model {name!r} has no weights in {entry.folder}; build them with `interp zoo train {name}`"
        )
    return _load_native_folder(entry.folder, device, dtype)


def _is_native_folder(path: Path) -> bool:
    """A folder written by `interp zoo train` (config.json with a "model" section, tokenizer/ inside)."""
    if not ((path / "config.json").is_file() and (path / "tokenizer").is_dir()):
        return False
    try:
        config = read_json(path / "config.json", "a model's config")
    except (OSError, ValueError):
        return False  # not ours: check_checkpoint_folder says what is wrong with it as a Hugging Face folder
    return isinstance(config, dict) and "model" in config


def _load_native_folder(folder: Path, device: torch.device | _Placement, dtype: torch.dtype) -> Model:
    if isinstance(device, _Placement):
        raise NotACheckpointError(
            f"{folder} is a TransformerLens-native model, which loads onto one device: device_map applies to "
            "transformers checkpoints; load it with device=... instead"
        )
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources import build_bridge_from_module
    from transformer_lens.model_bridge.sources.native import NativeModel
    from transformers import AutoTokenizer

    config = json.loads((folder / "config.json").read_text())
    cfg = TransformerBridgeConfig.from_dict(config["model"])
    native = NativeModel(cfg)
    weights = folder / "model.safetensors"
    try:
        if "delta_of" in config:  # a trojan of the zoo (interp.zoo.trojans): float16 changes from a zoo model
            weights = folder / "delta.safetensors"
            state = load_file(_zoo_folder(config["delta_of"]) / "model.safetensors")
            for name, change in load_file(weights).items():
                state[name] = state[name] + change.to(state[name].dtype)
        else:
            state = load_file(weights)
        native.load_state_dict(state)
    except (OSError, RuntimeError, SafetensorError, KeyError) as err:  # missing/corrupt file, weights of other shapes
        raise NotACheckpointError(f"the weights in {weights} could not be loaded: {err}") from err
    native.to(device=device, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    # build_bridge_from_module is boot_native's own second half, minus its random initialisation.
    bridge = build_bridge_from_module(native, "TransformerLensNative", tl_config=cfg, tokenizer=tokenizer)
    bridge.enable_compatibility_mode(disable_warnings=True)
    bridge.cfg.weights_source = f"TransformerLens-native checkpoint folder {folder}"
    return bridge


def _zoo_folder(spec: str) -> Path:
    entry = parse_spec(spec).entry
    if entry is None:
        raise NotACheckpointError(f"this folder's weights are changes from {spec}, which is not a zoo model")
    return entry.folder


def _load_local(path: Path, device: torch.device | _Placement, dtype: torch.dtype, progress=None) -> Model:
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoTokenizer

    if _is_native_folder(path):
        return _load_native_folder(path, device, dtype)
    if (path / EDIT_STEM).with_suffix(".json").is_file():
        return _load_edited(path, device, dtype, progress)
    gguf = path if path.suffix == ".gguf" and path.is_file() else None
    if gguf is None and path.is_dir() and not (path / "config.json").is_file():
        gguf = gguf_in_folder(path)
    if gguf is not None:
        path = converted_folder(gguf, progress=progress)
    check_checkpoint_folder(path)
    # transformers is shown the folder's safe files only: with a pytorch_model.bin beside a stray *.safetensors,
    # it would otherwise unpickle the .bin
    with safe_view(path) as view:
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(view))
        except Exception as err:  # tokenizers' parser raises bare Exceptions, and a damaged file reaches any kind
            raise NotACheckpointError(
                f"the tokenizer in {path} could not be loaded ({type(err).__name__}: {first_line(err)})"
            ) from err
        try:
            placed = {"device_map": device.device_map} if isinstance(device, _Placement) else {"device": device}
            bridge = TransformerBridge.boot_transformers(str(view), dtype=dtype, tokenizer=tokenizer, **placed)
        except (OSError, RuntimeError, ValueError) as err:  # no usable weights file, weights of other shapes, ...
            raise NotACheckpointError(f"the weights in {path} could not be loaded: {first_line(err)}") from err
    bridge.enable_compatibility_mode(disable_warnings=True)
    # read by interp.observe.overview.model_facts: a dequantized model says so, and from which quantization
    bridge.cfg.weights_source = weights_source(path) or f"float checkpoint folder {path}"
    return bridge


EDIT_STEM = "edit"
"""An edited model's folder (interp.editing.save_edited_model) holds edit.json and edit.safetensors: a KnowledgeEdit."""


def _load_edited(folder: Path, device: torch.device | _Placement, dtype: torch.dtype, progress=None) -> Model:
    """The base model the folder's edit names, loaded as any spec, with the edit's low-rank changes added."""
    from interp.core.weight_edits import add_low_rank
    from interp.results import KnowledgeEdit, load_folder

    try:
        edit = load_folder(KnowledgeEdit, folder, EDIT_STEM, what="knowledge edit")
    except ValueError as err:
        raise NotACheckpointError(str(err)) from err
    base = parse_spec(edit.model)
    if base.kind == "path" and base.path.resolve() == folder.resolve():
        raise NotACheckpointError(f"the edit in {folder} names its own folder as its base")
    model = load_model(edit.model, device=device if not isinstance(device, _Placement) else "auto", dtype=dtype)
    try:
        add_low_rank(model, edit.layers, edit.left, edit.right)
    except ValueError as err:
        raise NotACheckpointError(f"the edit in {folder} does not fit {edit.model}: {err}") from err
    model.cfg.weights_source = f"{getattr(model.cfg, 'weights_source', edit.model)}, edited: {edit}"
    return model


def _official_name(spec: str) -> str | None:
    from transformer_lens.supported_models import MODEL_ALIASES, OFFICIAL_MODEL_NAMES

    lowered = spec.lower()
    for official in OFFICIAL_MODEL_NAMES:
        if lowered in (official.lower(), *(a.lower() for a in MODEL_ALIASES.get(official, ()))):
            return official
    return None


def _load_official(official: str, device: torch.device | _Placement, dtype: torch.dtype) -> Model:
    from huggingface_hub import snapshot_download

    try:
        # A model downloaded earlier loads from its cached snapshot folder without any network call.
        cached = snapshot_download(official, local_files_only=True)
    except (OSError, ValueError):  # huggingface_hub's LocalEntryNotFoundError: not in the cache
        cached = None
    if cached is not None:
        log.info("%s found in the Hugging Face cache at %s", official, cached)
        return _load_local(Path(cached), device, dtype)
    if not hub_reachable():
        raise HubUnreachableError(
            f"{official} is not in the local Hugging Face cache and the hub is unreachable (offline). "
            "On a connected machine, save it with "
            f"AutoModelForCausalLM.from_pretrained({official!r}).save_pretrained(DIR) "
            "and its tokenizer likewise, then pass DIR as the model."
        )
    # only the safe files are downloaded, then loaded as any local folder: never a pickled checkpoint
    folder = snapshot_download(official, allow_patterns=[f"*{suffix}" for suffix in SAFE_SUFFIXES])
    return _load_local(Path(folder), device, dtype)
