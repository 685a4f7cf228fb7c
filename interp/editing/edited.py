"""An edited model on disk: a folder holding the edit alone (edit.safetensors + edit.json, a few hundred KB), which
`load_model(folder)` loads as the base model with the change added. The base is never written to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from interp.loading.model import EDIT_STEM
from interp.loading.spec import parse_spec
from interp.results import KnowledgeEdit, save_folder

__all__ = ["check_edit_folder", "save_edited_model"]

MODEL_FILES = ("config.json", "model.safetensors", "delta.safetensors", f"{EDIT_STEM}.json")


def check_edit_folder(base_spec: str, folder: str | Path) -> None:
    """Refuse a folder that is the base model's own, or that holds a model already (an edit never overwrites)."""
    folder = Path(folder)
    base = parse_spec(base_spec)
    if base.path is not None and base.path.resolve() == folder.resolve():  # a zoo spec's path is its entry's folder
        what = "the zoo model's" if base.entry is not None else "the base model's"
        raise ValueError(f"{folder} is {what} own folder: write the edited model to a new folder")
    held = [name for name in MODEL_FILES if (folder / name).exists()]
    if held:
        raise ValueError(f"{folder} already holds a model ({', '.join(held)}); write the edited model to a new folder")


def save_edited_model(edit: KnowledgeEdit, folder: str | Path) -> Path:
    """Write the edit into `folder` (new, or empty of model files), with a README saying what it is. A base given by
    path is recorded as an absolute path, so the folder loads from anywhere."""
    folder = Path(folder)
    check_edit_folder(edit.model, folder)
    base = parse_spec(edit.model)
    if base.kind == "path":
        edit = replace(edit, model=str(base.path.resolve()))
    save_folder(edit, folder, EDIT_STEM)
    (folder / "README.md").write_text(
        f"# An edited model\n\n{edit}\n\nBase: `{edit.model}` (loaded as it is, then changed).\n"
        f"Settings: {edit.settings}.\nLoad it with `load_model(this folder)`; the base is unchanged.\n"
    )
    return folder
