"""Loading SAEs from local folders, with errors that say what is wrong with the folder."""

from __future__ import annotations

from pathlib import Path

from interp.loading.checks import check_safetensors_file, first_line, hub_reachable
from interp.results import read_json
from interp.vocab.types import SAE
from interp.zoo import bundled_folder

__all__ = [
    "SAELoadError",
    "bundled_path",
    "check_release",
    "load_release",
    "load_sae",
    "load_sae_folder",
    "parse_cfg_json",
    "read_sae_config",
    "release_of",
]


class SAELoadError(ValueError):
    """An SAE folder is missing or not in SAELens's format."""


def load_sae(path: str | Path, *, device: str = "cpu") -> SAE:
    """Load an SAE from a folder saved by SAELens (`cfg.json` + `sae_weights.safetensors`; the workbench
    saves in the same format), or a pretrained SAELens release named `release:sae_id`
    (e.g. `gpt2-small-res-jb:blocks.8.hook_resid_pre`), which needs the hub, or a bundled SAE named `zoo:NAME`
    (interp.zoo.bundled_names)."""
    if (named := release_of(path)) is not None:
        return load_release(*named, device=device)
    folder = bundled_path(path) or Path(path).expanduser()
    return load_sae_folder(folder, read_sae_config(folder), device=device)


def release_of(path: str | Path) -> tuple[str, str] | None:
    """(release, sae_id) of a `release:sae_id` name; None for a `zoo:` name, a path, or anything on disk."""
    text = str(path)
    if ":" not in text or text.startswith(("/", ".", "~", "zoo:")) or Path(text).expanduser().exists():
        return None
    release, sae_id = text.split(":", 1)
    return release, sae_id


def read_sae_config(folder: Path) -> dict:
    """The parsed `cfg.json` of an SAELens folder, refused with what is wrong (no folder, a missing file, bad JSON)."""
    if not folder.is_dir():
        raise SAELoadError(f"no SAE folder at {folder} (a pretrained SAELens SAE is named release:sae_id)")
    missing = [f for f in ("cfg.json", "sae_weights.safetensors") if not (folder / f).is_file()]
    if missing:
        raise SAELoadError(f"{folder} is not an SAELens SAE folder: it lacks {', '.join(missing)}")
    config = parse_cfg_json(folder / "cfg.json")
    if not isinstance(config, dict):
        raise SAELoadError(f"{folder / 'cfg.json'} holds a {type(config).__name__}, not SAELens's settings object")
    return config


def parse_cfg_json(path: Path) -> object:
    """A cfg.json's parsed content, or an SAELoadError naming the file when it is not JSON."""
    try:
        return read_json(path, "an SAE's settings")
    except ValueError as err:
        raise SAELoadError(str(err)) from err


def load_sae_folder(folder: Path, cfg: object, *, device: str = "cpu") -> SAE:
    """The SAE in a folder whose cfg.json the caller has read into `cfg` (SAELens reads it once more: its loader
    takes a folder, not settings)."""
    _check_claimed_size(folder, cfg)
    from sae_lens import SAE

    try:
        return SAE.load_from_disk(str(folder), device=device)
    except (RuntimeError, KeyError, TypeError, ValueError) as err:  # cfg.json and the weights disagree, ...
        raise SAELoadError(
            f"the SAE in {folder} could not be loaded ({first_line(err)}): do cfg.json and the weights match?"
        ) from err


def _check_claimed_size(folder: Path, cfg: object) -> None:
    """Refuse a cfg.json whose sizes describe far more weights than sae_weights.safetensors holds, before SAELens
    allocates them (it builds the SAE from cfg.json first, then loads the weights into it): a d_sae of ten
    million would otherwise allocate gigabytes for a file of kilobytes."""
    held = check_safetensors_file(folder / "sae_weights.safetensors", error=SAELoadError)
    sizes = {k: cfg.get(k) for k in ("d_in", "d_sae")} if isinstance(cfg, dict) else {}
    sizes["d_out"] = cfg.get("d_out", sizes.get("d_in")) if isinstance(cfg, dict) else None
    wrong = [k for k, v in sizes.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if wrong:
        raise SAELoadError(f"{folder / 'cfg.json'} gives no whole positive {', '.join(wrong)}")
    claimed = sizes["d_sae"] * (sizes["d_in"] + sizes["d_out"])
    if claimed > 2 * held + 1_000_000:
        raise SAELoadError(
            f"{folder / 'cfg.json'} describes an SAE of {claimed:,} weights (d_in {sizes['d_in']}, d_sae "
            f"{sizes['d_sae']}), but sae_weights.safetensors holds {held:,}: do cfg.json and the weights match?"
        )


def bundled_path(path: str | Path) -> Path | None:
    """The folder of a bundled SAE or transcoder set named `zoo:NAME` (None for any other path)."""
    try:
        return bundled_folder(path)
    except ValueError as err:
        raise SAELoadError(str(err)) from err


def check_release(release: str, sae_id: str) -> None:
    """Refuse a release or SAE id that SAELens's registry (bundled with SAELens: no network) does not list."""
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

    directory = get_pretrained_saes_directory()
    if release not in directory:
        close = ", ".join(sorted(r for r in directory if release.split("-")[0] in r)[:8])
        raise SAELoadError(f"unknown SAELens release {release!r}" + (f"; similar: {close}" if close else ""))
    if sae_id not in directory[release].saes_map:
        ids = ", ".join(list(directory[release].saes_map)[:8])
        raise SAELoadError(f"release {release!r} has no SAE {sae_id!r}; it has e.g. {ids}")


def load_release(release: str, sae_id: str, *, device: str = "cpu") -> SAE:
    """A pretrained SAE from SAELens's registry. Offline, this fails at once with what to do instead
    (SAE.from_pretrained itself would wait ~20 s on network retries)."""
    check_release(release, sae_id)
    if not hub_reachable():
        raise SAELoadError(
            f"{release}:{sae_id} is on the Hugging Face hub, which is unreachable from here (or HF_HUB_OFFLINE "
            "is set). "
            "Download the SAE where the hub is reachable and pass its folder (cfg.json + sae_weights.safetensors)"
        )
    from sae_lens import SAE

    return SAE.from_pretrained(release, sae_id, device=device)
