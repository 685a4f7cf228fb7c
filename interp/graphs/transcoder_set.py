"""A model's transcoders, one per MLP, loaded from SAELens folders (the format `sae train` writes them in).

The graph code needs three things of a transcoder: its latents' pre-activations (linear in the MLP input), its
activation function, and its output for given latent activations (plus the skip path of a skip transcoder).
SAELens's classes give the first two (`encode`), and `decode` the output without the skip path; this wraps the
difference so that the rest of the package treats every SAELens transcoder alike.
"""

from __future__ import annotations

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
    names a bundled set (`zoo:lang-4l-transcoders`); `release:id,id,...` names pretrained ones in SAELens's
    registry, one id per block (`gemma-scope-2b-pt-transcoders:layer_0/width_16k/average_l0_76,...`), which needs
    the hub."""
    from interp.loading.saes import SAELoadError, bundled_path, check_release, load_release, release_of

    if (named := release_of(path)) is not None:
        release, listed = named
        ids = [i.strip() for i in listed.split(",") if i.strip()]
        for sae_id in ids:  # every id checked before the first download
            check_release(release, sae_id)
        found = {}
        for sae_id in ids:
            where = f"{release}:{sae_id}"
            sae = load_release(release, sae_id, device=device)
            if "transcoder" not in sae.cfg.architecture():
                raise SAELoadError(f"{where} is an SAE ({sae.cfg.architecture()}), not a transcoder")
            _add(found, _block(sae.cfg.metadata.hook_name or "", where), where, sae)
    else:
        root = bundled_path(path) or Path(path).expanduser()
        if not root.exists():
            raise SAELoadError(f"no transcoders at {root}: give a transcoder folder or an `sae train` job folder")
        found = _from_folders(root, device)
    if not found:
        raise SAELoadError(f"no SAELens transcoders (cfg.json with a transcoder architecture) in {path}")
    by_layer = {layer: sae.eval() for layer, (_, sae) in found.items()}
    for sae in by_layer.values():
        sae.requires_grad_(False)
    return TranscoderSet(by_layer=by_layer, source=str(path))


def _from_folders(root: Path, device: str) -> dict[int, tuple[Path, SAE]]:
    """The transcoder folders under `root`; each cfg.json is read once here (and once by SAELens's loader)."""
    from interp.loading.saes import SAELoadError, load_sae_folder, parse_cfg_json

    found: dict[int, tuple[Path, SAE]] = {}
    for cfg_path in sorted(root.rglob("cfg.json")):
        if "checkpoints" in cfg_path.relative_to(root).parts:  # a job's checkpoints hold earlier copies
            continue
        cfg = parse_cfg_json(cfg_path)
        if not isinstance(cfg, dict) or not isinstance(cfg.get("architecture", ""), str):
            # skipped, a damaged transcoder's folder would leave its block silently without one
            raise SAELoadError(f"{cfg_path} is not an SAELens cfg.json: it names no architecture")
        if "transcoder" not in cfg.get("architecture", ""):
            continue
        if not (cfg_path.parent / "sae_weights.safetensors").is_file():
            raise SAELoadError(f"{cfg_path.parent} is not an SAELens folder: it lacks sae_weights.safetensors")
        layer = _block(str((cfg.get("metadata") or {}).get("hook_name") or ""), cfg_path.parent)
        _add(found, layer, cfg_path.parent, load_sae_folder(cfg_path.parent, cfg, device=device))
    return found


def _block(hook: str, where: object) -> int:
    """The block whose MLP a transcoder reading `hook` replaces; anything but an MLP input is refused."""
    from interp.loading.saes import SAELoadError

    layer = layer_of(hook) if hook.startswith("blocks.") else -1
    if layer < 0 or hook != mlp_hooks(layer)[0]:
        raise SAELoadError(
            f"{where}: a transcoder reading {hook or 'an unnamed hook'}; the graph code needs "
            f"transcoders of MLPs, reading blocks.L.ln2.hook_normalized"
        )
    return layer


def _add(found: dict, layer: int, where: object, sae: SAE) -> None:
    from interp.loading.saes import SAELoadError

    if layer in found:
        raise SAELoadError(
            f"two transcoders for block {layer}: {found[layer][0]} and {where}; point at a folder holding one per block"
        )
    found[layer] = (where, sae)
