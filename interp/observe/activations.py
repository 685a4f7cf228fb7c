"""Activation datasets: activations at chosen hooks and positions over many prompts, with labels.

Small collections stay in memory. Given `out_dir`, rows stream to safetensors shards as they are
collected (memory bounded by one shard), and features load back one hook at a time, so a sweep
over layers never holds every layer at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.core.hooks import activations
from interp.core.limits import check_fits
from interp.core.locking import exclusive
from interp.results import read_json
from interp.vocab.types import Model, Progress

__all__ = ["META", "ROW_KEYS", "ActivationDataset", "collect_activations"]

log = logging.getLogger(__name__)

META = "activations.json"
ROW_KEYS = ("labels", "prompt_index", "position", "token")


@dataclass(frozen=True)
class ActivationDataset:
    """One row per (prompt, position) kept: its activations at each hook, its label and where it came from."""

    hooks: tuple[str, ...]
    labels: Float[Tensor, " row"] | Int[Tensor, " row"] = field(repr=False)
    """int64 class ids, or float32 targets for regression."""
    prompt_index: Int[Tensor, " row"] = field(repr=False)
    """Which prompt each row comes from (splits keep prompts whole)."""
    position: Int[Tensor, " row"] = field(repr=False)
    """The token position read."""
    token: Int[Tensor, " row"] = field(repr=False)
    """The token id at that position (control tasks label by it)."""
    label_names: tuple[str, ...] | None = None
    """Class names, indexed by label id (None for regression)."""
    folder: Path | None = None
    """Where the shards live; None when the features are in memory."""
    _memory: dict[str, Tensor] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    def features(self, hook: str) -> Float[Tensor, "row d_in"]:
        """All rows' activations at `hook` (flattened per row), read from disk when sharded."""
        if hook not in self.hooks:
            raise KeyError(f"{hook} was not collected; the dataset has {', '.join(self.hooks)}")
        if self.folder is None:
            return self._memory[hook]
        from safetensors import safe_open

        meta = read_json(self.folder / META, "an activation dataset's index")
        parts = []
        for shard in meta["shards"]:
            with safe_open(str(self.folder / shard), framework="pt") as f:
                parts.append(f.get_tensor(hook))
        return torch.cat(parts)

    @classmethod
    def load(cls, folder: str | Path) -> ActivationDataset:
        """Open a dataset written by `collect_activations(..., out_dir=folder)`."""
        from safetensors import safe_open

        folder = Path(folder)
        if not (folder / META).is_file():
            raise FileNotFoundError(f"{folder} holds no activation dataset ({META} is missing)")
        meta = read_json(folder / META, "an activation dataset's index")
        rows: dict[str, list[Tensor]] = {k: [] for k in ROW_KEYS}
        for shard in meta["shards"]:
            with safe_open(str(folder / shard), framework="pt") as f:
                for k in ROW_KEYS:
                    rows[k].append(f.get_tensor(k))
        names = tuple(meta["label_names"]) if meta["label_names"] is not None else None
        return cls(tuple(meta["hooks"]), *(torch.cat(rows[k]) for k in ROW_KEYS), label_names=names, folder=folder)


class _ShardWriter:
    """Buffers rows and writes safetensors shards of exactly `shard_rows` rows (the last one may be shorter)."""

    def __init__(self, folder: Path, shard_rows: int):
        self.folder, self.shard_rows = folder, shard_rows
        self.buffer: dict[str, list[Tensor]] = {}
        self.n_buffered = 0
        self.shards: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rows: dict[str, Tensor]) -> None:
        for k, v in rows.items():
            self.buffer.setdefault(k, []).append(v)
        self.n_buffered += len(rows["labels"])
        while self.n_buffered >= self.shard_rows:
            self.flush(self.shard_rows)

    def flush(self, n_rows: int | None = None) -> None:
        """Write the first `n_rows` buffered rows (default: all) as the next shard; keep the rest."""
        from safetensors.torch import save_file

        if not self.n_buffered:
            return
        n_rows = self.n_buffered if n_rows is None else n_rows
        joined = {k: torch.cat(v) for k, v in self.buffer.items()}
        name = f"shard-{len(self.shards):05d}.safetensors"
        save_file({k: v[:n_rows].contiguous() for k, v in joined.items()}, str(self.folder / name))
        self.shards.append(name)
        self.buffer = {k: [v[n_rows:]] for k, v in joined.items()} if n_rows < self.n_buffered else {}
        self.n_buffered -= n_rows


@exclusive
def collect_activations(
    model: Model,
    tokens: Int[Tensor, "batch pos"],
    *,
    hooks: list[str] | tuple[str, ...],
    labels: Tensor | Callable[[Tensor], Tensor],
    mask: Bool[Tensor, "batch pos"] | None = None,
    label_names: tuple[str, ...] | None = None,
    batch_size: int = 64,
    out_dir: str | Path | None = None,
    shard_rows: int = 50_000,
    progress: Progress | None = None,
    keep: Callable[[Tensor, Tensor], Tensor] | None = None,
    first_prompt: int = 0,
) -> ActivationDataset:
    """Run `model` over `tokens` in batches and keep the activations at `hooks` where `mask` is set.

    `labels` is a function of a batch of tokens returning [batch, pos] labels, a [batch, pos]
    tensor, or a [rows] tensor with one label per kept position (row order: prompt, then position).
    Integer labels make a classification dataset, floating ones a regression dataset.
    `progress(done, total)` counts prompts. `keep(tokens, activation)` (optional) narrows the mask batch by
    batch from what the first hook holds, e.g. `sae.positions.sae_positions`; it needs callable `labels`.
    `first_prompt` is the first prompt's index in `prompt_index` (when `tokens` are one part of a larger set).
    """
    n, n_pos = tokens.shape
    mask = torch.ones(n, n_pos, dtype=torch.bool) if mask is None else mask.bool().cpu()
    if mask.shape != (n, n_pos):
        raise ValueError(f"mask has shape {tuple(mask.shape)}, tokens {tuple(tokens.shape)}")
    n_rows = int(mask.sum())
    if n_rows == 0:
        raise ValueError("the mask selects no positions")
    if isinstance(labels, Tensor):
        if labels.shape not in ((n, n_pos), (n_rows,)):
            raise ValueError(
                f"labels must have shape ({n}, {n_pos}) or ({n_rows},) (one per kept position); got "
                f"{tuple(labels.shape)}"
            )
        row_labels = labels.cpu()[mask] if labels.shape == (n, n_pos) else labels.cpu()
    else:
        row_labels = None
    if keep is not None and row_labels is not None:
        raise ValueError("keep= decides the rows as they are read: give labels as a function of the tokens")
    writer = _ShardWriter(Path(out_dir), shard_rows) if out_dir is not None else None
    memory: dict[str, list[Tensor]] = {}
    first_row = 0
    for start in range(0, n, batch_size):
        batch = tokens[start : start + batch_size]
        bmask = mask[start : start + batch_size]
        cache = activations(model, batch, list(hooks))  # stops after the last hook: later layers are unused
        if keep is not None:
            bmask = bmask & keep(batch, cache[hooks[0]]).cpu()
        k = int(bmask.sum())
        if row_labels is not None:
            blabels = row_labels[first_row : first_row + k]
        else:
            blabels = labels(batch.cpu())[bmask]
        prompt_idx, pos = bmask.nonzero(as_tuple=True)
        rows = {h: cache[h].cpu()[bmask].reshape(k, -1).float() for h in hooks}
        if writer is None and start == 0:  # the rows' width is known now: will all of them fit in memory?
            try:
                check_fits(model, n_rows, 4 * sum(rows[h].shape[1] for h in hooks), what="activations", unit="rows")
            except ValueError as err:
                raise ValueError(f"{err}; or stream them to disk with out_dir= (interp probe --cache-dir)") from err
        rows |= {
            "labels": blabels,
            "prompt_index": prompt_idx + start + first_prompt,
            "position": pos,
            "token": batch.cpu()[bmask],
        }
        if writer is not None:
            writer.add(rows)
        else:
            for key, v in rows.items():
                memory.setdefault(key, []).append(v)
        first_row += k
        if progress is not None:
            progress(min(start + batch_size, n), n)
    if writer is not None:
        writer.flush()
        meta = {
            "hooks": list(hooks),
            "n_rows": first_row,
            "shards": writer.shards,
            "label_names": label_names,
            "model": str(model.cfg.model_name),
        }
        (writer.folder / META).write_text(json.dumps(meta, indent=2) + "\n")
        log.info("wrote %d rows in %d shards to %s", first_row, len(writer.shards), writer.folder)
        return ActivationDataset.load(writer.folder)
    cat = {k: torch.cat(v) for k, v in memory.items()}
    return ActivationDataset(
        tuple(hooks), *(cat[k] for k in ROW_KEYS), label_names=label_names, _memory={h: cat[h] for h in hooks}
    )
