"""Loading SAEs from local folders, with errors that say what is wrong with the folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sae_lens import SAE


class SAELoadError(ValueError):
    """An SAE folder is missing or not in SAELens's format."""


def load_sae(path: str | Path, *, device: str = "cpu") -> "SAE":
    """Load an SAE saved by SAELens (`cfg.json` + `sae_weights.safetensors`) from a folder."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise SAELoadError(f"no SAE folder at {folder}")
    missing = [f for f in ("cfg.json", "sae_weights.safetensors") if not (folder / f).is_file()]
    if missing:
        raise SAELoadError(f"{folder} is not an SAELens SAE folder: it lacks {', '.join(missing)}")
    try:
        json.loads((folder / "cfg.json").read_text())
    except json.JSONDecodeError as err:
        raise SAELoadError(f"{folder / 'cfg.json'} is not valid JSON: {err}") from err
    from sae_lens import SAE

    return SAE.load_from_disk(str(folder), device=device)
