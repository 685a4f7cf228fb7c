"""Where the workbench keeps the files it downloads, converts or computes once (fetched models, converted GGUF
folders, ROME's key statistics), and the hash that names them. (Reading files safely: interp.results.files.)"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_root", "file_sha256"]


def cache_root() -> Path:
    """Where the workbench keeps what it downloads and converts: $INTERP_CACHE, else
    $XDG_CACHE_HOME/interp-workbench, else ~/.cache/interp-workbench."""
    if os.environ.get("INTERP_CACHE"):
        return Path(os.environ["INTERP_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "interp-workbench"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
