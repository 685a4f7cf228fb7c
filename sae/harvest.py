"""The activation cache of an SAE job: the hook's activations over the job's tokens, collected once (by one
process or by every worker of a distributed job) into safetensors shards that training reads batch by batch."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from interp.loading.model import load_model
from interp.loading.token_sources import token_rows
from interp.observe.activations import META, collect_activations
from sae.distributed import SINGLE, Workers
from sae.positions import MASSIVE, sae_positions
from sae.train_config import TrainJobConfig

__all__ = ["BATCH_ROWS", "CACHE_DIR", "COLLECTING", "SOURCE", "JobProgress", "cached_activations"]

JobProgress = Callable[[str, int, int, dict], None]
"""progress(sae name, tokens done, tokens total, latest log line); while the activations are collected, the name
is COLLECTING and the line is empty."""
CACHE_DIR = "activations"
SOURCE = "source.json"
"""Next to the cache: the job settings it was collected with (a rerun with other settings is refused)."""


BATCH_ROWS = 64
"""Rows of tokens per forward pass while collecting (collect_activations' default)."""
COLLECTING = "activations"
"""The name `run_train_job` reports collection progress under (tokens of activations cached so far)."""


def cached_activations(cfg: TrainJobConfig, *, progress: JobProgress | None = None, workers: Workers = SINGLE) -> Path:
    """The folder of the hook's activations over the job's tokens, collected once into safetensors
    shards by `interp.observe.activations.collect_activations`. The settings file is written last, so a
    collection cut short (no settings file) is collected again; a cache collected with other settings
    is an error.

    With several `workers` (every one of them calls this) each runs the model over its contiguous share of
    the token rows into its own `part-<rank>/` shards, and the lead writes one index over all of them, in
    row order: the cache holds the rows one process would collect, in the same order, cut into shards at
    other places."""
    folder = Path(cfg.out) / CACHE_DIR
    source = {
        k: getattr(cfg, k)
        for k in ("model", "dataset", "text_column", "dataset_tokens", "context", "seed", "shard_tokens")
    } | {
        "hook": ",".join(cfg.cached_hooks),  # one hook for an SAE job, as this key always held
        "positions": f"sae.positions: no special tokens, norm <= {MASSIVE:g} x median",
    }
    if (folder / SOURCE).is_file():
        cached = json.loads((folder / SOURCE).read_text())
        if cached != source:
            changed = ", ".join(f"{k} {cached.get(k)!r} -> {v!r}" for k, v in source.items() if cached.get(k) != v)
            raise ValueError(
                f"the activation cache in {folder} was collected with other settings ({changed}): "
                "give the job another `out` folder, or delete the cache to collect it again"
            )
        return folder
    model = load_model(cfg.model, device=cfg.device)
    tokens = token_rows(
        model,
        n_tokens=cfg.dataset_tokens,
        context=cfg.context,
        dataset=cfg.dataset,
        text_column=cfg.text_column,
        seed=cfg.seed,
    )
    if workers.lead:
        shutil.rmtree(folder, ignore_errors=True)  # a collection cut short leaves stale shards
    workers.barrier()
    # Shares are whole collection batches: sae_positions judges a massive activation against its batch's
    # median, so a share cut mid-batch would keep other rows than one process keeps.
    n_rows, context = tokens.shape
    first, last = (min(b * BATCH_ROWS, n_rows) for b in workers.part(-(-n_rows // BATCH_ROWS)))
    part = folder if workers.world == 1 else folder / f"part-{workers.rank}"

    def collected(done: int, total: int) -> None:  # the lead's rows of tokens -> about the job's tokens
        if progress is not None:
            progress(COLLECTING, min(done * workers.world, n_rows) * context, n_rows * context, {})

    if last > first:  # with fewer batches than workers, the last workers have none
        collect_activations(
            model,
            tokens[first:last],
            hooks=list(cfg.cached_hooks),
            labels=torch.zeros_like,  # every position is kept; the labels are unused here, so each row's is 0
            batch_size=BATCH_ROWS,
            out_dir=part,
            shard_rows=cfg.shard_tokens,
            progress=collected,
            keep=lambda batch, act: sae_positions(model, batch, act),  # no BOS, no massive activations (why: there)
            first_prompt=first,
        )
    workers.barrier()
    if workers.lead:
        if workers.world > 1:
            _merge_index(folder, [p.name for p in sorted(folder.glob("part-*"), key=lambda p: int(p.name[5:]))])
        (folder / SOURCE).write_text(json.dumps(source, indent=2) + "\n")
    workers.barrier()
    return folder


def _merge_index(folder: Path, parts: list[str]) -> None:
    """One index (META) over the shards of the part folders, in their order."""
    metas = [json.loads((folder / name / META).read_text()) for name in parts]
    merged = metas[0] | {
        "n_rows": sum(meta["n_rows"] for meta in metas),
        "shards": [f"{name}/{shard}" for name, meta in zip(parts, metas, strict=True) for shard in meta["shards"]],
    }
    (folder / META).write_text(json.dumps(merged, indent=2) + "\n")
