"""A model's transcoders, one per MLP, loaded from SAELens folders (the format `sae train` writes them in).

The graph code needs three things of a transcoder: its latents' pre-activations (linear in the MLP input), its
activation function, and its output for given latent activations (plus the skip path of a skip transcoder).
SAELens's classes give the first two (`encode`), and `decode` the output without the skip path; this wraps the
difference so that the rest of the package treats every SAELens transcoder alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jaxtyping import Float
from torch import Tensor

from interp.core.sites import layer_of, mlp_hooks
from interp.vocab.types import SAE, Model

__all__ = ["TranscoderSet", "load_transcoders"]


@dataclass(frozen=True)
class TranscoderSet:
    """Transcoders by the block whose MLP they replace; a block without one keeps its MLP (an error node)."""

    by_layer: dict[int, SAE]
    source: str
    """Where they were loaded from."""

    @property
    def layers(self) -> list[int]:
        return sorted(self.by_layer)

    def d_sae(self, layer: int) -> int:
        return self.by_layer[layer].cfg.d_sae

    def encode(self, layer: int, x: Float[Tensor, "*batch d_model"]) -> Float[Tensor, "*batch d_sae"]:
        return self.by_layer[layer].encode(x)

    def has_skip(self, layer: int) -> bool:
        """Whether block `layer` has a transcoder with a linear skip path (SAELens's skip transcoders)."""
        return layer in self.by_layer and getattr(self.by_layer[layer], "W_skip", None) is not None

    def skip(self, layer: int, x: Float[Tensor, "*batch d_model"]) -> Float[Tensor, "*batch d_model"] | None:
        """The skip path's output (a linear map of the MLP input), or None without one."""
        w_skip = getattr(self.by_layer[layer], "W_skip", None)
        return None if w_skip is None else x.to(w_skip.dtype) @ w_skip.T

    def decode(
        self, layer: int, acts: Float[Tensor, "*batch d_sae"], x: Float[Tensor, "*batch d_model"]
    ) -> Float[Tensor, "*batch d_model"]:
        """The transcoder's output for latent activations `acts` on MLP input `x` (the skip path reads `x`)."""
        out = self.by_layer[layer].decode(acts)
        skip = self.skip(layer, x)
        return out if skip is None else out + skip

    def check_fits(self, model: Model) -> None:
        """Refuse transcoders whose layers or widths the model does not have."""
        for layer, tc in self.by_layer.items():
            if not 0 <= layer < model.cfg.n_layers or model.cfg.attn_only:
                raise ValueError(
                    f"{self.source}: a transcoder for the MLP of block {layer}, but {model.cfg.model_name} has "
                    f"{model.cfg.n_layers} blocks{' and no MLPs' if model.cfg.attn_only else ''}"
                )
            if tc.cfg.d_in != model.cfg.d_model or tc.cfg.d_out != model.cfg.d_model:
                raise ValueError(
                    f"{self.source}: the block-{layer} transcoder maps {tc.cfg.d_in} -> {tc.cfg.d_out} dimensions; "
                    f"{model.cfg.model_name}'s MLPs map {model.cfg.d_model} -> {model.cfg.d_model}"
                )


def load_transcoders(path: str | Path, *, device: str = "cpu") -> TranscoderSet:
    """Every SAELens transcoder folder (cfg.json with a transcoder architecture) under `path`, by the block its
    `metadata.hook_name` names (which must be an MLP input, interp.core.sites.mlp_hooks). A folder may hold one
    transcoder or a whole `sae train` job; two transcoders for one block are an error that names both. `zoo:NAME`
    names a bundled set (`zoo:lang-4l-transcoders`)."""
    from interp.loading.saes import SAELoadError, bundled_path, load_sae

    root = bundled_path(path) or Path(path).expanduser()
    if not root.exists():
        raise SAELoadError(f"no transcoders at {root}: give a transcoder folder or an `sae train` job folder")
    found: dict[int, tuple[Path, SAE]] = {}
    for cfg_path in sorted(root.rglob("cfg.json")):
        if "checkpoints" in cfg_path.relative_to(root).parts:  # a job's checkpoints hold earlier copies
            continue
        try:
            cfg = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as err:
            raise SAELoadError(f"{cfg_path} is not valid JSON: {err}") from err
        if "transcoder" not in str(cfg.get("architecture", "")):
            continue
        hook = (cfg.get("metadata") or {}).get("hook_name") or ""
        layer = layer_of(hook) if hook.startswith("blocks.") else -1
        if layer < 0 or hook != mlp_hooks(layer)[0]:
            raise SAELoadError(
                f"{cfg_path.parent}: a transcoder reading {hook or 'an unnamed hook'}; the graph code needs "
                f"transcoders of MLPs, reading blocks.L.ln2.hook_normalized"
            )
        if layer in found:
            raise SAELoadError(
                f"two transcoders for block {layer}: {found[layer][0]} and {cfg_path.parent}; point at a folder "
                "holding one per block"
            )
        found[layer] = (cfg_path.parent, load_sae(cfg_path.parent, device=device))
    if not found:
        raise SAELoadError(f"no SAELens transcoder folders (cfg.json with a transcoder architecture) under {root}")
    by_layer = {layer: sae.eval() for layer, (_, sae) in found.items()}
    for sae in by_layer.values():
        sae.requires_grad_(False)
    return TranscoderSet(by_layer=by_layer, source=str(root))
