"""SAEs bundled with the workbench (package data): one folder each, in SAELens's format, with a CARD.md.
A zoo model names its bundled SAE by folder (`interp.zoo.ModelDefaults.sae`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SAE_ZOO_DIR", "bundled_sae_folder"]

SAE_ZOO_DIR = Path(__file__).resolve().parent


def bundled_sae_folder(name: str) -> Path | None:
    """The folder of a bundled SAE by name, or None for an empty name."""
    return SAE_ZOO_DIR / name if name else None
