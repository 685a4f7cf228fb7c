"""An edited model on disk: a folder holding the edit alone (edit.safetensors + edit.json, a few hundred KB), which
`load_model(folder)` loads as the base model with the change added. The base is never written to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from interp.loading.model import EDIT_STEM
from interp.loading.spec import parse_spec
from interp.results import KnowledgeEdit, save_folder

__all__ = ["save_edited_model"]

MODEL_FILES = ("config.json", "model.safetensors", "delta.safetensors", f"{EDIT_STEM}.json")


def save_edited_model(edit: KnowledgeEdit, folder: str | Path) -> Path:
    """Write the edit into `folder` (new, or empty of model files), with a README saying what it is. A base given by
    path is recorded as an absolute path, so the folder loads from anywhere."""
    folder = Path(folder)
    base = parse_spec(edit.model)
    if base.kind == "path":
        if base.path.resolve() == folder.resolve():
            raise ValueError(f"{folder} is the base model's own folder: write the edited model to a new folder")
        edit = replace(edit, model=str(base.path.resolve()))
    if base.kind == "zoo" and base.entry is not None and base.entry.folder.resolve() == folder.resolve():
        raise ValueError(f"{folder} is the zoo model's own folder: write the edited model to a new folder")
    held = [name for name in MODEL_FILES if (folder / name).exists()]
    if held:
        raise ValueError(f"{folder} already holds a model ({', '.join(held)}); write the edited model to a new folder")
    save_folder(edit, folder, EDIT_STEM)
    (folder / "README.md").write_text(
        f"# An edited model\n\n{edit}\n\nBase: `{edit.model}` (loaded as it is, then changed).\n"
        f"Settings: {edit.settings}.\nLoad it with `load_model(this folder)`; the base is unchanged.\n"
    )
    return folder
