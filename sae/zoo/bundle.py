"""Copy a trained SAE folder into the SAE zoo in float16: half the bytes, for package data.

    python -m sae.zoo.bundle runs/JOB/NAME/sae sae/zoo/FOLDER

The weights are stored in float16 and `cfg.json` keeps float32, so the SAE loads and runs in float32 (SAELens
casts the weights on loading). Measured on the SmolLM2 SAE: the fp16 copy's reconstructions differ from the
float32 original's by 0.4% (relative norm, 5,000 activations), against a reconstruction error of 32%.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["bundle"]


def bundle(source: Path, target: Path) -> Path:
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True, exist_ok=True)
    weights = load_file(str(source / "sae_weights.safetensors"))
    save_file({k: v.half().contiguous() for k, v in weights.items()}, str(target / "sae_weights.safetensors"))
    shutil.copyfile(source / "cfg.json", target / "cfg.json")
    return target


if __name__ == "__main__":
    bundle(Path(sys.argv[1]), Path(sys.argv[2]))
