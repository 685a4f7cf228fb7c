"""Model loading and the small surface the rest of the workbench uses to talk to a model.

`load_model(spec)` accepts a zoo name (`zoo:NAME`), a TransformerLens official model name, or a
local Hugging Face checkpoint folder, and returns a `TransformerBridge` in compatibility mode:
HookedTransformer's hook names, caches and weight processing (folded LayerNorm, centred weights),
on the class TransformerLens keeps after 4.0. `HookedTransformer.from_pretrained` cannot load a
local folder at all (it insists on an official name and calls the hub), which rules it out here.

This is the only module that knows which TransformerLens class backs a model.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from torch import Tensor

from interp.checkpoints import (  # noqa: F401  (the errors are part of this module's surface)
    HubUnreachableError,
    ModelLoadError,
    NotACheckpointError,
    UnknownModelError,
    UnsupportedArchitectureError,
    check_checkpoint_folder,
    hub_reachable,
    probe_hub,
)
from interp.zoo import ZOO, ZOO_PREFIX

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ContextTooLongError(ValueError):
    """A prompt has more tokens than the model's context window."""


# ---- loading -----------------------------------------------------------------------------------


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`auto` picks CUDA when present, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but no CUDA device is available; use 'cpu' or 'auto'")
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; choose one of {sorted(DTYPES)}")
    return DTYPES[dtype]


def load_model(
    spec: str | os.PathLike, *, device: str | torch.device = "auto", dtype: str | torch.dtype = "float32"
) -> "TransformerBridge":
    """Load a model by zoo name (`zoo:NAME`), TransformerLens official name, or local folder.

    Returns a `TransformerBridge` with HookedTransformer-compatible hooks and weight processing,
    on `device` in `dtype`, with `model.cfg.model_name` set to the spec it was loaded from.
    Raises a `ModelLoadError` subclass whose message says what went wrong and what to do.
    """
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    text = str(spec)
    if text.startswith(ZOO_PREFIX):
        model = _load_zoo(text[len(ZOO_PREFIX) :], dev, dt)
    elif Path(text).expanduser().exists():
        model = _load_local(Path(text).expanduser(), dev, dt)
    elif (official := _official_name(text)) is not None:
        model = _load_official(official, dev, dt)
    elif os.sep in text or text.startswith((".", "~")):
        raise NotACheckpointError(f"no folder at {text}; give the path of a checkpoint folder, a zoo:NAME or an official model name")
    else:
        raise UnknownModelError(_unknown_model_message(text))
    model.cfg.model_name = text
    model.eval()
    log.info("loaded %s: %d layers, %d heads, n_ctx %d on %s", text, model.cfg.n_layers, model.cfg.n_heads, model.cfg.n_ctx, dev)
    return model


def _unknown_model_message(spec: str) -> str:
    from transformer_lens.supported_models import MODEL_ALIASES, OFFICIAL_MODEL_NAMES

    zoo = ", ".join(f"zoo:{n}" for n in ZOO)
    known = [*OFFICIAL_MODEL_NAMES, *(a for aliases in MODEL_ALIASES.values() for a in aliases), *(f"zoo:{n}" for n in ZOO)]
    close = difflib.get_close_matches(spec, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"unknown model {spec!r}.{hint} Zoo models: {zoo}. TransformerLens official names "
        f"({len(OFFICIAL_MODEL_NAMES)} of them, e.g. gpt2, pythia-70m) load from the Hugging Face hub. "
        "For a checkpoint on disk, pass the path of its folder (config.json, *.safetensors, tokenizer files)."
    )


def _load_zoo(name: str, device: torch.device, dtype: torch.dtype) -> "TransformerBridge":
    if name not in ZOO:
        raise UnknownModelError(f"no zoo model {name!r}; the zoo has: {', '.join('zoo:' + n for n in ZOO)}")
    entry = ZOO[name]
    if not entry.is_built:
        raise NotACheckpointError(f"zoo model {name!r} has no weights in {entry.folder}; build them with `interp zoo train {name}`")
    return _load_native_folder(entry.folder, device, dtype)


def _is_native_folder(path: Path) -> bool:
    """A folder written by `interp zoo train` (config.json with a "model" section, tokenizer/ inside)."""
    try:
        return path.is_dir() and "model" in json.loads((path / "config.json").read_text()) and (path / "tokenizer").is_dir()
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return False


def _load_native_folder(folder: Path, device: torch.device, dtype: torch.dtype) -> "TransformerBridge":
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources import build_bridge_from_module
    from transformer_lens.model_bridge.sources.native import NativeModel
    from transformers import AutoTokenizer

    config = json.loads((folder / "config.json").read_text())
    cfg = TransformerBridgeConfig.from_dict(config["model"])
    native = NativeModel(cfg)
    try:
        native.load_state_dict(load_file(folder / "model.safetensors"))
    except (OSError, RuntimeError, SafetensorError) as err:  # missing/corrupt file, or weights of another shape
        raise NotACheckpointError(f"the weights in {folder / 'model.safetensors'} could not be loaded: {err}") from err
    native.to(device=device, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    # build_bridge_from_module is boot_native's own second half, minus its random initialisation.
    bridge = build_bridge_from_module(native, "TransformerLensNative", tl_config=cfg, tokenizer=tokenizer)
    bridge.enable_compatibility_mode(disable_warnings=True)
    return bridge


def _load_local(path: Path, device: torch.device, dtype: torch.dtype) -> "TransformerBridge":
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoTokenizer

    if _is_native_folder(path):
        return _load_native_folder(path, device, dtype)
    check_checkpoint_folder(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as err:
        raise NotACheckpointError(f"the tokenizer in {path} could not be loaded: {err}") from err
    bridge = TransformerBridge.boot_transformers(str(path), device=device, dtype=dtype, tokenizer=tokenizer)
    bridge.enable_compatibility_mode(disable_warnings=True)
    return bridge


def _official_name(spec: str) -> str | None:
    from transformer_lens.supported_models import MODEL_ALIASES, OFFICIAL_MODEL_NAMES

    lowered = spec.lower()
    for official in OFFICIAL_MODEL_NAMES:
        if lowered in (official.lower(), *(a.lower() for a in MODEL_ALIASES.get(official, ()))):
            return official
    return None


def _load_official(official: str, device: torch.device, dtype: torch.dtype) -> "TransformerBridge":
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
            f"On a connected machine, save it with AutoModelForCausalLM.from_pretrained({official!r}).save_pretrained(DIR) "
            "and its tokenizer likewise, then pass DIR as the model."
        )
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(official, device=device, dtype=dtype)
    bridge.enable_compatibility_mode(disable_warnings=True)
    return bridge


# ---- the surface the rest of the code base uses -------------------------------------------------


def check_context(model: "TransformerBridge", n_tokens: int, *, what: str = "prompt") -> None:
    if n_tokens > model.cfg.n_ctx:
        raise ContextTooLongError(
            f"{what} is {n_tokens} tokens long but {model.cfg.model_name} has a context of {model.cfg.n_ctx} tokens; shorten it"
        )


def token_ids(model: "TransformerBridge", text: str, *, prepend_bos: bool = True) -> list[int]:
    """Token ids of one text, with the model's BOS token first when it has one and `prepend_bos`."""
    ids = _known_ids(model, text)
    bos = model.tokenizer.bos_token_id
    if prepend_bos and bos is not None:
        ids = [bos, *ids]
    check_context(model, len(ids))
    return ids


def str_tokens(model: "TransformerBridge", ids: Sequence[int] | Tensor) -> list[str]:
    """One display string per token id (for axis labels)."""
    ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
    return [model.tokenizer.decode([i]) for i in ids]


def _known_ids(model: "TransformerBridge", text: str) -> list[int]:
    """Token ids of `text`; an error if a word-level tokenizer maps some of it to its unknown token,
    which would otherwise turn every unknown word into the same token without a word said."""
    tok = model.tokenizer
    ids = tok(text, add_special_tokens=False)["input_ids"]
    unk = tok.unk_token_id
    if unk is not None and unk in ids and (tok.unk_token or "") not in text:
        words = dict.fromkeys(w for w in text.split() if unk in tok(w, add_special_tokens=False)["input_ids"])
        raise ValueError(f"{model.cfg.model_name}'s tokenizer does not know {', '.join(map(repr, list(words)[:10]))} (they become {tok.unk_token})")
    return ids


def single_token(model: "TransformerBridge", text: str) -> int:
    """The id of `text` as the next token (e.g. " Mary"); an error if it is not exactly one token."""
    ids = _known_ids(model, text)
    if len(ids) != 1:
        pieces = [model.tokenizer.decode([i]) for i in ids]
        raise ValueError(f"{text!r} is {len(ids)} tokens for {model.cfg.model_name} ({pieces}); answers must be one token")
    return ids[0]


def special_token_ids(model: "TransformerBridge") -> set[int]:
    return set(model.tokenizer.all_special_ids)


# Site kinds by where their hook lives; attention-only models lack resid_mid and mlp_out, so the
# list is read off the model's hooks rather than assumed (DESIGN.md section 3).
BLOCK_SITES = ("resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out")
ATTN_SITES = ("z", "q", "k", "v", "pattern")


def hook_name(site: str, layer: int) -> str:
    if site in BLOCK_SITES:
        return f"blocks.{layer}.hook_{site}"
    if site in ATTN_SITES:
        return f"blocks.{layer}.attn.hook_{site}"
    raise ValueError(f"unknown site {site!r}; sites are {', '.join(BLOCK_SITES + ATTN_SITES)}")


def sites(model: "TransformerBridge") -> list[str]:
    """The site kinds this model has in every layer."""
    from interp.hooks import hook_points  # hook_dict rebuilds its alias table on every access

    hooks = hook_points(model)
    found = []
    for site in BLOCK_SITES + ATTN_SITES:
        if site in ("resid_mid", "mlp_out") and model.cfg.attn_only:
            continue  # aliases such as hook_mlp_in exist on attention-only bridges but never fire
        if all(hook_name(site, layer) in hooks for layer in range(model.cfg.n_layers)):
            found.append(site)
    return found


@dataclass(frozen=True)
class ModelFacts:
    """What `interp info` prints: the shape of a model and where it runs."""

    name: str
    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_mlp: int | None
    d_vocab: int
    n_ctx: int
    attn_only: bool
    n_params: int
    device: str
    dtype: str
    sites: tuple[str, ...]


def model_facts(model: "TransformerBridge") -> ModelFacts:
    cfg = model.cfg
    return ModelFacts(
        name=str(cfg.model_name),
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        d_mlp=None if cfg.attn_only else cfg.d_mlp,
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        attn_only=bool(cfg.attn_only),
        n_params=sum(p.numel() for p in model.original_model.parameters()),
        device=str(next(model.parameters()).device),
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        sites=tuple(sites(model)),
    )
