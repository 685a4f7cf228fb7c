"""Copy a trained SAE folder (or a job's transcoders) into the SAE zoo in float16: half the bytes, for package data.

    python -m sae.bundle runs/JOB/NAME/sae interp/zoo/saes/FOLDER
    python -m sae.bundle --transcoders runs/JOB interp/zoo/saes/FOLDER     # one L<layer>/ folder per transcoder

The weights are stored in float16 and `cfg.json` keeps float32, so the SAE loads and runs in float32 (SAELens
casts the weights on loading). Measured on the SmolLM2 SAE: the fp16 copy's reconstructions differ from the
float32 original's by 0.4% (relative norm, 5,000 activations), against a reconstruction error of 32%.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

__all__ = ["bundle", "bundle_transcoders"]


def bundle(source: Path, target: Path) -> Path:
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True, exist_ok=True)
    weights = load_file(str(source / "sae_weights.safetensors"))
    save_file({k: v.half().contiguous() for k, v in weights.items()}, str(target / "sae_weights.safetensors"))
    shutil.copyfile(source / "cfg.json", target / "cfg.json")
    return target


def bundle_transcoders(job: Path, target: Path) -> Path:
    """Every final transcoder of an `sae train` job (its `<name>/sae` folders) into `target/L<layer>/`."""
    from interp.core.sites import layer_of

    found: dict[int, Path] = {}
    for cfg in sorted(job.glob("*/sae/cfg.json")):
        meta = json.loads(cfg.read_text())
        if "transcoder" in meta.get("architecture", ""):
            layer = layer_of(meta["metadata"]["hook_name"])
            if layer in found:
                raise SystemExit(f"two transcoders for block {layer} in {job}: {found[layer]} and {cfg.parent}")
            found[layer] = cfg.parent
    for layer, folder in found.items():
        bundle(folder, target / f"L{layer}")
    return target


if __name__ == "__main__":
    if sys.argv[1] == "--transcoders":
        bundle_transcoders(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        bundle(Path(sys.argv[1]), Path(sys.argv[2]))
