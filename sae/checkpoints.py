"""Checkpoints of SAE training jobs, written and read without pickles.

SAELens's `SAETrainer.save_checkpoint` stores the optimizer, the schedulers and the running statistics with
`torch.save`, and `load_trainer_state` reads them back with `torch.load`: unpickling a file from a folder a
user names. Here the same state is split into its tensors (a safetensors file) and everything else (a JSON
file whose values keep their Python types: tuples, integer dict keys, None). The SAE itself is SAELens's own
safetensors + cfg.json (`save_model`), and the activation scaler its own JSON. A resumed job gets exactly
the state an uninterrupted one had (tests/test_train_job.py kills a job and compares the weights).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from torch import Tensor

from interp.results import read_json, read_safetensors

__all__ = [
    "DATA_JSON",
    "STATE_JSON",
    "STATE_TENSORS",
    "checkpoint_data",
    "checkpoints",
    "load_trainer_state",
    "save_checkpoint",
]

STATE_JSON = "trainer_state.json"
STATE_TENSORS = "trainer_state.safetensors"
DATA_JSON = "data.json"
"""Where the job's data stands at the checkpoint (written by the job: sae.train_job)."""
PICKLED_STATE = "trainer_state.pt"  # what SAELens writes; never read here


def _encode(value: Any, tensors: dict[str, Tensor]) -> Any:
    """JSON-ready `value`, its tensors moved into `tensors` under generated keys."""
    if isinstance(value, Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = value.detach().clone().contiguous()
        return {"__tensor__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in value]}
    if isinstance(value, list):
        return [_encode(v, tensors) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: _encode(v, tensors) for k, v in value.items()}}
        return {"__items__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint a {type(value).__name__} without pickling it")


def _decode(value: Any, tensors: dict[str, Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict):
        (kind, inner), *_ = value.items()
        if kind == "__tensor__":
            return tensors[inner]
        if kind == "__tuple__":
            return tuple(_decode(v, tensors) for v in inner)
        if kind == "__dict__":
            return {k: _decode(v, tensors) for k, v in inner.items()}
        return {_decode(k, tensors): _decode(v, tensors) for k, v in inner}
    return value


def _trainer_state(trainer: Any) -> dict:
    # the fields of SAELens's SAETrainer.save_trainer_state, in its layout
    return {
        "optimizer": trainer.optimizer.state_dict(),
        "lr_scheduler": trainer.lr_scheduler.state_dict(),
        "n_training_samples": trainer.n_training_samples,
        "n_training_steps": trainer.n_training_steps,
        "act_freq_scores": trainer.act_freq_scores,
        "n_forward_passes_since_fired": trainer.n_forward_passes_since_fired,
        "n_frac_active_samples": trainer.n_frac_active_samples,
        "started_fine_tuning": trainer.started_fine_tuning,
        "coefficient_schedulers": {name: s.state_dict() for name, s in trainer.coefficient_schedulers.items()},
    }


def save_checkpoint(trainer: Any, folder: Path, data: dict | None = None) -> Path:
    """Write the trainer's SAE and state to `folder/checkpoints/<tokens seen>`, with `data` (JSON: where the
    job's data stands) when given. It is written to a temporary folder and renamed, so a kill never leaves a
    half-written checkpoint."""
    from sae_lens.constants import ACTIVATION_SCALER_CFG_FILENAME, SPARSITY_FILENAME

    final = folder / "checkpoints" / str(trainer.n_training_samples)
    tmp = folder / "checkpoints" / f".tmp-{trainer.n_training_samples}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainer.sae.save_model(str(tmp))
    save_file({"sparsity": trainer.log_feature_sparsity.contiguous()}, str(tmp / SPARSITY_FILENAME))
    tensors: dict[str, Tensor] = {}
    (tmp / STATE_JSON).write_text(json.dumps(_encode(_trainer_state(trainer), tensors)) + "\n")
    save_file(tensors, str(tmp / STATE_TENSORS))
    trainer.activation_scaler.save(str(tmp / ACTIVATION_SCALER_CFG_FILENAME))
    if data is not None:
        (tmp / DATA_JSON).write_text(json.dumps(data, indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)  # only ever an identical checkpoint of the same step
    os.replace(tmp, final)
    return final


def load_trainer_state(trainer: Any, checkpoint: Path) -> None:
    """Restore what `save_checkpoint` wrote into a fresh trainer (as SAELens's load_trainer_state does)."""
    from sae_lens.constants import ACTIVATION_SCALER_CFG_FILENAME

    if not (checkpoint / STATE_JSON).is_file():
        found = (
            " (it holds a pickled trainer_state.pt, which is never loaded)"
            if (checkpoint / PICKLED_STATE).exists()
            else ""
        )
        raise ValueError(
            f"{checkpoint} is not a checkpoint this version can resume{found}; delete {checkpoint.parent} to "
            "train the SAE again from the start"
        )
    try:
        tensors = read_safetensors(checkpoint / STATE_TENSORS, "a trainer's state")
        state = _decode(read_json(checkpoint / STATE_JSON, "a trainer's state"), tensors)
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(
            f"{checkpoint} holds a damaged trainer state ({err!r}); delete it to resume from the one before"
        ) from err
    trainer.activation_scaler.load(checkpoint / ACTIVATION_SCALER_CFG_FILENAME)
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.lr_scheduler.load_state_dict(state["lr_scheduler"])
    device = trainer.act_freq_scores.device
    trainer.act_freq_scores = state["act_freq_scores"].to(device)
    trainer.n_forward_passes_since_fired = state["n_forward_passes_since_fired"].to(device)
    for name in ("n_training_samples", "n_training_steps", "n_frac_active_samples", "started_fine_tuning"):
        setattr(trainer, name, state[name])
    for name, scheduler_state in state["coefficient_schedulers"].items():
        trainer.coefficient_schedulers[name].load_state_dict(scheduler_state)


def checkpoint_data(checkpoint: Path) -> dict | None:
    """What `save_checkpoint` was given as `data`; None for a checkpoint written without it."""
    path = checkpoint / DATA_JSON
    if not path.is_file():
        return None
    data = read_json(path, "a checkpoint's data")
    if not isinstance(data, dict):
        raise ValueError(
            f"{path} holds a {type(data).__name__}, not a checkpoint's data: delete {checkpoint} to resume from "
            "the one before"
        )
    return data


def checkpoints(folder: Path) -> list[Path]:
    """The finished checkpoints of one SAE's folder, oldest first. Temporary folders a killed job left behind
    are removed (the caller holds the job's lock, so no other job is writing them)."""
    root = folder / "checkpoints"
    for stray in root.glob(".tmp-*"):
        shutil.rmtree(stray, ignore_errors=True)
    return sorted((p for p in root.glob("*") if p.name.isdigit()), key=lambda p: int(p.name))
