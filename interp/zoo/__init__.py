"""The zoo: small models trained by this project, shipped as package data.

Each model lives in a folder beside this file: `config.json` (the TransformerLens-native model
config), `model.safetensors`, `tokenizer/` (a Hugging Face tokenizer folder) and `CARD.md` (how it
was trained, what it scores, which heads do what). `interp zoo train NAME` rebuilds a folder.

This module imports nothing heavy so `interp models` answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ZOO_DIR = Path(__file__).resolve().parent
ZOO_PREFIX = "zoo:"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    """Name used in specs, as in `zoo:NAME`."""
    summary: str
    """One line for `interp models`."""

    @property
    def spec(self) -> str:
        return ZOO_PREFIX + self.name

    @property
    def folder(self) -> Path:
        return ZOO_DIR / self.name

    @property
    def is_built(self) -> bool:
        return (self.folder / "model.safetensors").is_file()


ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            "lang-4l",
            "4-layer language model (d_model 128, MLPs, word-level) on template sentences; does IOI and induction. Default.",
        ),
        ZooEntry(
            "induction-2l",
            "2-layer attention-only model on repeated random tokens; a previous-token head feeds an induction head.",
        ),
    )
}

DEFAULT_MODEL = "zoo:lang-4l"
