"""SAEs and transcoder sets bundled with the workbench (package data): one folder each, in SAELens's format, with a
CARD.md. Wherever an SAE or transcoders are asked for, `zoo:NAME` names a bundled one (`zoo:lang-4l-l2-topk16`,
`zoo:lang-4l-transcoders`), from any folder, as `zoo:lang-4l` names a bundled model. A zoo model names its bundled
SAE and transcoders by folder name (`interp.zoo.ModelDefaults.sae`, `.transcoders`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SAE_ZOO_DIR", "bundled_folder", "bundled_names", "bundled_sae_folder"]

SAE_ZOO_DIR = Path(__file__).resolve().parent
PREFIX = "zoo:"


def bundled_names() -> list[str]:
    """The names of the bundled SAEs and transcoder sets (each a folder with a card)."""
    return sorted(p.name for p in SAE_ZOO_DIR.iterdir() if (p / "CARD.md").is_file())


def bundled_sae_folder(name: str) -> Path | None:
    """The folder of a bundled SAE by name, or None for an empty name."""
    return SAE_ZOO_DIR / name if name else None


def bundled_folder(spec: str | Path) -> Path | None:
    """The folder `zoo:NAME` names, or None when `spec` is not a `zoo:` name (a path, a release). An unknown name is
    a ValueError that lists the bundled ones."""
    text = str(spec)
    if not text.startswith(PREFIX):
        return None
    name = text.removeprefix(PREFIX)
    if name not in bundled_names():
        raise ValueError(f"no bundled SAE or transcoders named {name!r}; bundled: {', '.join(bundled_names())}")
    return SAE_ZOO_DIR / name
