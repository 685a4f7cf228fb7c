"""What names a model, parsed once: `parse_spec(text)` -> `ModelSpec`, read by the loader, the defaults, the trojan
hunt, the CLI and the app, so that `zoo:NAME`, a zoo model's folder given by path, a checkpoint folder, a GGUF file
and a hub name mean the same thing everywhere.

Parsing never imports TransformerLens (`interp models` answers at once): whether a name that is not a zoo name or
a path is one of TransformerLens's official names is checked when the model loads (`interp.loading.model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from interp.zoo import ZOO, ZOO_DIR, ModelDefaults, ZooEntry, zoo_name

__all__ = ["ModelSpec", "SpecKind", "defaults_for", "parse_spec"]

SpecKind = Literal["zoo", "path", "name"]
"""zoo: a zoo entry (by `zoo:NAME`, or by the path of its folder); path: a folder or file on disk; name: anything
else, which only a hub name can be."""


@dataclass(frozen=True)
class ModelSpec:
    """A model spec as the user gave it and what it names."""

    text: str
    """As given (it becomes `model.cfg.model_name` and the `model` field of every result)."""
    kind: SpecKind
    path: Path | None
    """The folder or file on disk (a zoo entry's folder, even when named `zoo:NAME`); None for a hub name."""
    entry: ZooEntry | None
    """The zoo entry, when the spec names one (by name or by its folder); a zoo name not in the zoo has none."""
    asked: str | None = None
    """NAME of a `zoo:NAME` spec, whether or not the zoo has it (the loader's error lists what it does have)."""

    @property
    def zoo(self) -> str | None:
        """The zoo entry's name, or None."""
        return self.entry.name if self.entry is not None else None

    @property
    def defaults(self) -> ModelDefaults:
        """What the CLI and the app start from: the zoo entry's defaults, generic ones for any other model."""
        return self.entry.defaults if self.entry is not None else ModelDefaults()


def parse_spec(spec: str | Path) -> ModelSpec:
    """Parse a model spec (nothing is loaded or checked beyond what the file system says)."""
    text = str(spec)
    name = zoo_name(text)
    if name is not None:
        entry = ZOO.get(name)
        return ModelSpec(text, "zoo", entry.folder if entry is not None else None, entry, name)
    path = Path(text).expanduser()
    if text and path.exists():
        resolved = path.resolve()
        # a zoo model's own folder, given by path, is that zoo model (its defaults, its trojan config)
        entry = ZOO.get(resolved.name) if resolved.parent == ZOO_DIR else None
        return ModelSpec(text, "path", path, entry)
    return ModelSpec(text, "name", None, None)


def defaults_for(model_or_spec: object) -> ModelDefaults:
    """The defaults of a model spec, or of a loaded model (read from the spec it was loaded from)."""
    cfg = getattr(model_or_spec, "cfg", None)
    text = str(cfg.model_name) if cfg is not None else str(model_or_spec)
    return parse_spec(text).defaults
