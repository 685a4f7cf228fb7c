"""SAE training jobs: activations cached once, several SAEs trained from the cache by SAELens's
`SAETrainer`, checkpoints every N tokens, and resume after the process is killed.

The loop drives `SAETrainer.step()` itself (the seam SAELens's own `MultiSAETrainer` uses) rather than
`fit()`, so that it can checkpoint at token boundaries, write its own log and resume. Resume is exact:
the batch of step i is a pure function of (seed, i) (a seeded permutation of the cache per pass), and
a checkpoint holds the SAE, the optimizer, the schedulers and the step count (SAELens's
`save_trainer_state`), so a resumed job sees exactly the batches an uninterrupted one would. A
checkpoint is written to a temporary folder and renamed, so a kill never leaves a half-written one.
"""

from __future__ import annotations

import json
import logging
import os
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from itertools import accumulate
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from interp.loading.model import resolve_device
from interp.observe.activations import META
from interp.results import check_safetensors, parse_json, read_json, read_text, rounded
from interp.training.dictionaries import make_sae, trainer_config
from interp.vocab.choices import JobSplit, check_choice
from sae.checkpoints import checkpoint_data, checkpoints, load_trainer_state, save_checkpoint
from sae.distributed import SINGLE, Workers, data_parallel, synced_step
from sae.harvest import JobProgress, cached_activations
from sae.train_config import SAESpec, TrainJobConfig, is_transcoder

__all__ = [
    "BATCH_LEVEL",
    "LOCK",
    "BatchOrder",
    "deals_out_saes",
    "job_lock",
    "read_log",
    "run_train_job",
    "train_one",
]

log = logging.getLogger(__name__)

BATCH_LEVEL = ("batchtopk", "transcoder", "skip_transcoder")
"""Architectures whose activation reads the whole batch (BatchTopK keeps the batch's top k x rows), so that
data-parallel training, where each worker sees a share of the batch, would train something else."""

LOCK = ".lock"
"""In the job folder: held (flock) by the job running there, holding its process id."""


class BatchOrder:
    """Batch i of a job, read from a sharded activation cache without loading it whole.

    The batches are rows [i*B, (i+1)*B) of an endless sequence that visits the cache once per pass:
    each pass takes the shards in a seeded order and each shard's rows in a seeded order. So a batch is
    a function of (seed, i) alone (a resumed job continues exactly), and at most the two shards a batch
    can straddle are in memory. Shuffling is within a shard: a shard holds about `shard_tokens / context`
    whole prompts drawn at random, so batches stay mixed across documents.
    """

    def __init__(self, folder: str | Path, hooks: str | tuple[str, ...], batch_size: int, seed: int):
        from safetensors import SafetensorError, safe_open

        folder = Path(folder)
        self.paths = _cache_shards(folder)
        # several hooks (a transcoder's MLP input and output) are read side by side, row by row
        self.hooks = (hooks,) if isinstance(hooks, str) else tuple(hooks)
        self.batch_size, self.seed = batch_size, seed
        shapes = []
        for path in self.paths:
            check_safetensors(path)
            try:
                with safe_open(str(path), framework="pt") as f:
                    shapes.append([f.get_slice(hook).get_shape() for hook in self.hooks])
            except (SafetensorError, KeyError) as err:
                raise ValueError(f"{path} is not a shard of this job's activation cache ({err})") from err
        self.sizes = [shape[0][0] for shape in shapes]
        self.widths = [shape[1] for shape in shapes[0]]
        self.d_in = sum(self.widths)
        self.n_rows = sum(self.sizes)
        self._layouts: dict[int, tuple[list[int], list[int]]] = {}
        self._shards: OrderedDict[tuple[int, int], Tensor] = OrderedDict()
        self.shard_loads = 0
        """Shards read from disk so far (a test checks that batches do not re-read them)."""

    def _generator(self, epoch: int, shard: int = -1) -> torch.Generator:
        return torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) * 1_000_003 + shard + 1)

    def _layout(self, epoch: int) -> tuple[list[int], list[int]]:
        """The shard order of a pass and where each shard starts in it."""
        if epoch not in self._layouts:
            order = torch.randperm(len(self.sizes), generator=self._generator(epoch)).tolist()
            starts = list(accumulate((self.sizes[shard] for shard in order[:-1]), initial=0))
            self._layouts = {epoch: (order, starts)}
        return self._layouts[epoch]

    def _shuffled(self, epoch: int, shard: int) -> Tensor:
        key = (epoch, shard)
        if key not in self._shards:
            from safetensors import safe_open

            with safe_open(str(self.paths[shard]), framework="pt") as f:
                rows = torch.cat([f.get_tensor(hook) for hook in self.hooks], dim=1)
            self.shard_loads += 1
            self._shards[key] = rows[torch.randperm(len(rows), generator=self._generator(epoch, shard))]
            while len(self._shards) > 2:
                self._shards.popitem(last=False)
        return self._shards[key]

    def batch(self, step: int, workers: Workers = SINGLE) -> Float[Tensor, "row d_in"]:
        """Batch `step`, or under data-parallel training this worker's contiguous slice of it."""
        start, end = workers.part(self.batch_size)
        return self.rows(step * self.batch_size + start, step * self.batch_size + end)

    def rows(self, at: int, end: int) -> Float[Tensor, "row d_in"]:
        """Rows [at, end) of the endless sequence."""
        parts = []
        while at < end:
            epoch, pos = divmod(at, self.n_rows)
            order, starts = self._layout(epoch)
            slot = bisect_right(starts, pos) - 1
            offset = pos - starts[slot]
            take = min(end - at, self.sizes[order[slot]] - offset)
            parts.append(self._shuffled(epoch, order[slot])[offset : offset + take])
            at += take
        return torch.cat(parts)


def train_one(
    cfg: TrainJobConfig,
    spec: SAESpec,
    cache: Path,
    *,
    progress: JobProgress | None = None,
    workers: Workers = SINGLE,
) -> Path:
    """Train (or resume) one SAE of the job; returns its folder, whose `sae/` SAELens's `load_from_disk` reads.

    With several `workers` (every one of them calls this) the SAE trains data-parallel: each worker steps on
    its slice of the global batch, DDP averages the gradients, and the lead worker alone writes the log and
    the checkpoints. The weights equal one process's within float rounding (tests/test_distributed.py)."""
    from sae_lens import TrainingSAE
    from sae_lens.training.sae_trainer import SAETrainer

    import interp.training.transcoders  # noqa: F401  (registers the transcoder architectures a checkpoint may name)

    _check_batch_divides(cfg, workers)
    folder = Path(cfg.out) / spec.name
    device = str(resolve_device(cfg.device))
    # the lead's choice of checkpoint, on every worker (another machine may see the shared folder late)
    found = checkpoints(folder) if workers.lead else []
    last = workers.from_lead(found[-1].name if found else None)
    done = [folder / "checkpoints" / last] if last is not None else []
    hooks = spec.hooks(cfg.hook)
    order = BatchOrder(cache, hooks, cfg.batch_size, cfg.seed)
    torch.manual_seed(cfg.seed)
    if done:
        sae = TrainingSAE.load_from_disk(str(done[-1]), device=device)
    elif is_transcoder(spec.architecture):  # the batch is its MLP's input and output side by side
        d_in, d_out = order.widths
        sae = make_sae(spec.architecture, d_in, spec.d_sae, spec.sparsity, device, d_out=d_out)
    else:
        sae = make_sae(spec.architecture, order.d_in, spec.d_sae, spec.sparsity, device)
    sae.cfg.metadata.hook_name, sae.cfg.metadata.model_name = hooks[0], cfg.model
    if len(hooks) > 1:  # circuit-tracer's name for where a transcoder writes
        sae.cfg.metadata.hook_name_out = hooks[1]
    if cfg.dataset:  # SAELens's field for the training data: `sae eval` reads a named text's held-out split from it
        sae.cfg.metadata.dataset_path = cfg.dataset
    trainer = SAETrainer(
        cfg=trainer_config(training_samples=cfg.training_tokens, batch_size=cfg.batch_size, lr=spec.lr, device=device),
        sae=sae,
        data_provider=iter(()),
    )
    if done:
        _check_data(checkpoint_data(done[-1]), cfg, done[-1])
        load_trainer_state(trainer, done[-1])
        log.info("%s: resuming from %s tokens", spec.name, trainer.n_training_samples)
    log_path = folder / "log.jsonl"
    if workers.lead:
        _truncate_log(log_path, trainer.n_training_steps)  # lines after the checkpoint are written again
    # the other workers write their (identical) log lines nowhere
    with log_path.open("a") if workers.lead else open(os.devnull, "w") as out, data_parallel(sae, workers):
        while trainer.n_training_samples < cfg.training_tokens:
            batch = order.batch(trainer.n_training_steps, workers).to(device)
            step = synced_step(trainer, batch, cfg.batch_size, workers)
            trainer.n_training_steps += 1
            if trainer.n_training_steps % cfg.log_every == 0 or trainer.n_training_samples >= cfg.training_tokens:
                line = _log_line(trainer, step, workers)
                out.write(json.dumps(line) + "\n")
                out.flush()
                if progress is not None:
                    progress(spec.name, trainer.n_training_samples, cfg.training_tokens, line)
            if workers.lead and (
                trainer.n_training_samples // cfg.checkpoint_every
                > (trainer.n_training_samples - cfg.batch_size) // cfg.checkpoint_every
            ):
                save_checkpoint(trainer, folder, _data_position(trainer, cfg, workers))
    if workers.lead:
        if not (folder / "checkpoints" / str(trainer.n_training_samples)).is_dir():
            save_checkpoint(trainer, folder, _data_position(trainer, cfg, workers))
        trainer.set_final_sae_metadata()
        sae.save_inference_model(folder / "sae")
    return folder


def deals_out_saes(cfg: TrainJobConfig, n_workers: int, split: JobSplit) -> bool:
    """Whether `n_workers` deal the job's SAEs out among themselves (else each SAE trains data-parallel), after
    checking that the job can be shared that way."""
    check_choice(split, JobSplit, "split")
    dealt = split == "saes" or (split == "auto" and len(cfg.saes) >= n_workers)
    if not dealt and n_workers > 1:
        _check_batch_divides(cfg, Workers(0, n_workers))
        batch_level = sorted({s.architecture for s in cfg.saes if s.architecture in BATCH_LEVEL})
        if batch_level:
            raise ValueError(
                f"{', '.join(batch_level)} choose their active latents over the whole batch (BatchTopK), and trained "
                f"data-parallel each of the {n_workers} workers would choose over its own share, which one process "
                "does not do: deal the SAEs out (--split saes, with at least as many SAEs as workers) or train in "
                "one process"
            )
    return dealt


def _check_batch_divides(cfg: TrainJobConfig, workers: Workers) -> None:
    if cfg.batch_size % workers.world:
        raise ValueError(
            f"batch_size ({cfg.batch_size}) must divide evenly among the {workers.world} workers, so that each "
            "worker's mean loss weighs the same in the averaged gradient"
        )


def _data_position(trainer: Any, cfg: TrainJobConfig, workers: Workers) -> dict:
    """Where the data stands at a checkpoint: the next batch, and the rows of the cache's endless sequence
    (BatchOrder) that each worker reads for it. The next batch is a function of (seed, step, batch_size)
    alone, so any worker count that divides batch_size resumes it; the rest is a record."""
    start = trainer.n_training_steps * cfg.batch_size
    parts = [Workers(rank, workers.world).part(cfg.batch_size) for rank in range(workers.world)]
    return {
        "next_step": trainer.n_training_steps,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        "workers": workers.world,
        "next_rows": [[start + a, start + b] for a, b in parts],
    }


def _check_data(data: dict | None, cfg: TrainJobConfig, checkpoint: Path) -> None:
    """Refuse to resume with a batch order other than the checkpoint's (it would not continue the same job)."""
    if data is None:  # a checkpoint from before the record was written: nothing to compare
        return
    changed = [f"{k} {data[k]} -> {getattr(cfg, k)}" for k in ("batch_size", "seed") if data[k] != getattr(cfg, k)]
    if changed:
        raise ValueError(
            f"{checkpoint} was written by a job with other settings ({', '.join(changed)}), so resuming would not "
            "continue it: put the settings back, or give this job another `out` folder"
        )


@torch.no_grad()
def _log_line(trainer: Any, step: Any, workers: Workers) -> dict:
    """One line of log.jsonl (rounded as saved results are): the global batch's numbers, summed over workers."""
    x, recon = step.sae_in.float(), step.sae_out.float()  # what the output is scored against (a transcoder's target)
    n = workers.sum(torch.tensor([float(len(x))], device=x.device))  # NCCL reduces only GPU tensors
    mean = workers.sum(x.sum(0)) / n
    loss, l0, error, variance = workers.sum(
        torch.stack(
            [
                step.loss.detach().float() * len(x),
                (step.feature_acts != 0).float().sum(),
                ((x - recon) ** 2).sum(),
                ((x - mean) ** 2).sum(),
            ]
        )
    )
    return rounded(
        {
            "step": trainer.n_training_steps,
            "tokens": trainer.n_training_samples,
            "loss": float(loss / n),
            "l0": float(l0 / n),
            "explained_variance": float(1 - error / variance),
        }
    )


def _log_lines(path: Path) -> list[dict]:
    """The entries of a log.jsonl. A kill in the middle of a write leaves half a line at the end: it is dropped
    (training writes it again from the last checkpoint); a damaged line anywhere else is an error naming it."""
    lines = read_text(path, "a training log").splitlines()
    entries = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = parse_json(line, f"{path} line {n}", "a log entry")
        except ValueError as err:
            if n == len(lines):
                break
            raise ValueError(f"{err}: the log is damaged before its last line") from err
        if not (isinstance(entry, dict) and isinstance(entry.get("step"), int)):
            raise ValueError(f"{path} line {n} is not a log entry (an object with a whole-number step)")
        entries.append(entry)
    return entries


def _cache_shards(folder: Path) -> list[Path]:
    """The shard files an activation cache's index lists, refused when the index is damaged or names a file
    outside the folder (a hostile index must not make a job read other files)."""
    index = read_json(folder / META, "an activation cache's index")
    shards = index.get("shards") if isinstance(index, dict) else None
    if not (isinstance(shards, list) and shards and all(isinstance(s, str) for s in shards)):
        raise ValueError(f"{folder / META} is not an activation cache's index: it lists no shard files")
    outside = [s for s in shards if not s or Path(s).is_absolute() or ".." in Path(s).parts]
    if outside:
        raise ValueError(f"{folder / META} names shards outside its folder ({outside[0]!r}): the index is damaged")
    return [folder / s for s in shards]


def _truncate_log(path: Path, last_step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        keep = [entry for entry in _log_lines(path) if entry["step"] <= last_step]
        path.write_text("".join(json.dumps(entry) + "\n" for entry in keep))


def read_log(folder: str | Path) -> list[dict]:
    """The log entries of one SAE's folder."""
    return _log_lines(Path(folder) / "log.jsonl")


@contextmanager
def job_lock(out: Path) -> Iterator[None]:
    """Hold a job folder for this process. A second job on the same folder is refused, naming the holder. The
    lock is an flock on `out/.lock`, which the kernel releases when its process ends however it ends (SIGKILL
    included), so a killed job never leaves its folder locked and a rerun resumes it."""
    import fcntl
    import socket

    out.mkdir(parents=True, exist_ok=True)
    handle = (out / LOCK).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ValueError(
            f"the job folder {out} is in use by {holder}: wait for that job to end, or give this one another `out`"
        ) from err
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def run_train_job(
    cfg: TrainJobConfig, *, progress: JobProgress | None = None, workers: Workers = SINGLE, split: JobSplit = "auto"
) -> list[Path]:
    """Cache the activations (once) and train every SAE of the job, the lead worker holding the job folder's lock
    throughout. Returns the folders of the SAEs this worker reports: all of them in one process; under several
    `workers`, the lead's share (every SAE when they train data-parallel, see JobSplit). Only the lead
    reports progress."""
    dealt = deals_out_saes(cfg, workers.world, split)  # checked before the harvest, which would be wasted
    progress = progress if workers.lead else None
    with job_lock(Path(cfg.out)) if workers.lead else nullcontext():
        workers.barrier()  # no worker starts before the lead holds the job folder
        cache = cached_activations(cfg, progress=progress, workers=workers)
        if dealt:
            mine = [train_one(cfg, spec, cache, progress=progress) for spec in cfg.saes[workers.rank :: workers.world]]
            if workers.lead:
                _await_the_others(cfg)
            return mine
        folders = [train_one(cfg, spec, cache, progress=progress, workers=workers) for spec in cfg.saes]
        return folders if workers.lead else []


def _await_the_others(cfg: TrainJobConfig) -> None:
    """Under SAEs dealt out, the lead keeps the job folder's lock until every SAE of the job is trained, watching
    for each one's final checkpoint and SAE folder: a collective would time out on a long sweep, and releasing
    the lock early would let a second job into the folder. If a worker dies, torchrun ends the lead as well."""
    final = -(-cfg.training_tokens // cfg.batch_size) * cfg.batch_size  # tokens seen after the last whole batch
    waiting = [Path(cfg.out) / spec.name for spec in cfg.saes]
    while waiting := [f for f in waiting if not (f / "checkpoints" / str(final)).is_dir() or not (f / "sae").is_dir()]:
        time.sleep(1)
