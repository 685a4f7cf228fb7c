"""Zoo models that are fetched rather than shipped: where the file lives (a package on PyPI), what it must hash to,
and where the user cache keeps it. The download itself is loading's (interp.loading.fetch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interp.core.files import cache_root

__all__ = ["PackagedFile"]


@dataclass(frozen=True)
class PackagedFile:
    """A model file inside a package on PyPI."""

    package: str
    version: str
    member: str
    """The file's path inside the wheel."""
    sha256: str
    licence: str

    @property
    def filename(self) -> str:
        return Path(self.member).name

    def path(self, name: str) -> Path:
        """Where zoo model `name` keeps the file in the user cache."""
        return cache_root() / "models" / name / self.filename
