"""SAE jobs across processes: torch.distributed under torchrun (gloo on CPUs, NCCL on GPUs).

Why torch.distributed and not sparsify's trainer: the workbench trains with SAELens's `SAETrainer` (its
architectures, schedulers, checkpoint layout and the exact resume the jobs promise), and sparsify would
replace all of that with its own SAE classes and loop. What data-parallel training needs on top of SAELens
is small, and torch provides every piece of it: `DistributedDataParallel` averages the gradients, the
collectives keep the trainer's running statistics equal on every worker, and torchrun starts the workers,
rendezvouses them (one machine or several) and tears the whole job down when one of them dies.

The job is the same on any number of workers: batch i of the job is the same rows of the cache, each
worker reading its own contiguous slice of them, so a checkpoint is one state that any worker count
resumes (docs/distributed.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
from torch import Tensor

__all__ = ["SINGLE", "TIMEOUT_ENV", "Workers", "data_parallel", "joined_workers", "synced_step"]

TIMEOUT_ENV = "INTERP_DIST_TIMEOUT_S"
"""Seconds a collective waits for the other workers before failing (default 1800, gloo's own). torchrun ends a
job whose worker process dies within a second; this bounds the wait when a whole machine disappears instead.
It must outlast the longest legitimate wait: workers finishing their shares of a harvest apart, or the lead
writing a large SAE's checkpoint to a slow filesystem."""


@dataclass(frozen=True)
class Workers:
    """This process's place in the job: worker `rank` of `world`."""

    rank: int = 0
    world: int = 1

    @property
    def lead(self) -> bool:
        """The worker that writes what is written once: checkpoints, logs, the cache index."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def part(self, n: int) -> tuple[int, int]:
        """This worker's contiguous share [start, end) of n items (the first n % world workers take one more)."""
        size, extra = divmod(n, self.world)
        start = self.rank * size + min(self.rank, extra)
        return start, start + size + (self.rank < extra)

    def from_lead(self, value: Any) -> Any:
        """The lead's `value` (any picklable object), on every worker."""
        if self.world == 1:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: Tensor) -> Tensor:
        """`values` summed over the workers (in place when distributed)."""
        if self.world > 1:
            torch.distributed.all_reduce(values)
        return values


SINGLE = Workers()


@contextmanager
def joined_workers(device: str = "cpu") -> Iterator[Workers]:
    """This process's `Workers`: under torchrun (WORLD_SIZE set) a process group is opened, gloo for CPU
    training and NCCL for CUDA, and closed on the way out; otherwise SINGLE."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield SINGLE
        return
    rank = int(os.environ["RANK"])
    cuda = torch.device(device).type == "cuda"
    if cuda and torch.device(device).index is not None:
        raise ValueError(
            f'device {device!r} would put every worker on one GPU: give device = "cuda" or "auto", and each '
            "worker takes the GPU of its local rank"
        )
    if cuda:  # one GPU per worker on each machine
        local, gpus = int(os.environ.get("LOCAL_RANK", "0")), torch.cuda.device_count()
        if local >= gpus:
            raise ValueError(
                f"worker {local} of this machine has no GPU of its own ({gpus} visible): start at most {gpus} "
                'workers per machine, or train on the CPU (device = "cpu")'
            )
        torch.cuda.set_device(local)
    timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "1800")))
    backend = "nccl" if cuda else "gloo"
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":  # torchrun started by hand: its agent's store
        torch.distributed.init_process_group(backend, timeout=timeout)
    else:
        store = _bound_store(rank, world, timeout)
        torch.distributed.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=timeout)
    try:
        yield Workers(rank, world)
    finally:
        torch.distributed.destroy_process_group()


def _bound_store(rank: int, world: int, timeout: timedelta) -> Any:
    """The workers' store, hosted by worker 0 on MASTER_ADDR only (sae.launcher sets it to the job's binding),
    where torch's env:// initialisation would listen on every interface (sae.binding says why)."""
    from sae.binding import listening_store

    host, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    if rank > 0:
        return torch.distributed.TCPStore(host, port, world, is_master=False, timeout=timeout)
    store = listening_store(host, port, world_size=world, timeout=timeout)
    if store is None:
        raise RuntimeError(f"worker 0 cannot host the job's store: port {port} on {host} is taken; run the job again")
    return store


class _TrainingForward(torch.nn.Module):
    """The module DDP wraps: its forward is the SAE's `training_forward_pass`, the call SAELens's trainer makes
    (DDP averages gradients only for passes that go through its own forward)."""

    def __init__(self, sae: torch.nn.Module):
        super().__init__()
        self.sae = sae

    def forward(self, step_input: Any) -> Any:
        return type(self.sae).training_forward_pass(self.sae, step_input)


@contextmanager
def data_parallel(sae: torch.nn.Module, workers: Workers) -> Iterator[None]:
    """Within the block, the trainer's calls to `sae.training_forward_pass` go through DistributedDataParallel,
    so each backward leaves every worker the mean of the workers' gradients (which is the gradient of the
    mean loss over the global batch: SAELens's losses are means over the batch). DDP also copies rank 0's
    weights to every worker on entry. Nothing changes with one worker."""
    if workers.world == 1:
        yield
        return
    from torch.nn.parallel import DistributedDataParallel

    # Every SAELens training architecture gives every parameter a gradient each step (checked for all five), so
    # DDP need not search the graph for unused ones. Buffers (batchtopk's running threshold) are rank 0's on
    # every worker: each worker estimates it from its own rows, as it selects its top activations within them.
    ddp = DistributedDataParallel(_TrainingForward(sae))
    # an instance attribute: the trainer's `self.sae.training_forward_pass(...)` now finds DDP's call
    object.__setattr__(sae, "training_forward_pass", ddp)
    try:
        yield
    finally:
        del sae.__dict__["training_forward_pass"]


def synced_step(trainer: Any, batch: Tensor, global_rows: int, workers: Workers) -> Any:
    """`trainer.step` on this worker's slice of the global batch, leaving the trainer's running statistics those of
    the global batch, as one process training on all of it would hold them. SAELens updates them from the rows it
    is given; which latents fired and how often are summed over the workers, and the token count advances by the
    global batch."""
    before = trainer.act_freq_scores.clone() if workers.world > 1 else None
    step = trainer.step(batch)
    trainer.n_training_samples += global_rows - len(batch)
    if before is not None:
        with torch.no_grad():
            fired = workers.sum((step.feature_acts != 0).float().sum(0))
            trainer.act_freq_scores = before + fired
            trainer.n_forward_passes_since_fired[fired > 0] = 0
    return step
