"""SAELens's training pieces as the workbench uses them: a fresh training SAE of any architecture, the
trainer's config (constant learning rate, no W&B), and training on any sampler of activation batches.
Training jobs (`sae.train_job`) and the recovery experiments (`sae.recovery`) both build on these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from interp.vocab.choices import Architecture, TranscoderArchitecture, check_choice

__all__ = ["SPARSITY_FIELD", "make_sae", "train_sae", "trainer_config"]

SPARSITY_FIELD = {
    "topk": "k",
    "batchtopk": "k",
    "standard": "l1_coefficient",
    "gated": "l1_coefficient",
    "jumprelu": "l0_coefficient",
    "transcoder": "k",
    "skip_transcoder": "k",
}
"""Which SAELens config field the `sparsity` values set, per architecture (interp.vocab.choices.Architecture)."""


def make_sae(
    architecture: Architecture | TranscoderArchitecture,
    d_in: int,
    d_sae: int,
    sparsity: float,
    device: str,
    *,
    d_out: int | None = None,
) -> Any:
    """A fresh SAELens `TrainingSAE`, with `sparsity` set on the field its architecture calls it by; a transcoder
    (interp.training.transcoders) also takes its output width `d_out`."""
    from sae_lens.registry import get_sae_training_class

    import interp.training.transcoders  # noqa: F401  (registers the transcoder architectures with SAELens)

    transcoder = architecture in TranscoderArchitecture.__args__
    if not transcoder:
        check_choice(architecture, Architecture, "architecture")
    if transcoder != (d_out is not None):
        raise ValueError(f"d_out is given for transcoders and only for them ({architecture}: d_out={d_out})")
    cls, cfg_cls = get_sae_training_class(architecture)
    value = int(sparsity) if SPARSITY_FIELD[architecture] == "k" else float(sparsity)
    extra = {"d_out": d_out} if transcoder else {}
    return cls(cfg_cls(d_in=d_in, d_sae=d_sae, device=device, **{SPARSITY_FIELD[architecture]: value}, **extra))


def trainer_config(*, training_samples: int, batch_size: int, lr: float, device: str) -> Any:
    """SAELens's `SAETrainerConfig` as the workbench uses it: constant learning rate, no W&B."""
    from sae_lens.config import LoggingConfig, SAETrainerConfig

    return SAETrainerConfig(
        total_training_samples=training_samples,
        train_batch_size_samples=batch_size,
        lr=lr,
        lr_end=lr,
        device=device,
        # evaluation runs only on W&B log steps; with W&B off they would never be read
        logger=LoggingConfig(log_to_wandb=False, eval_every_n_wandb_logs=2**31 - 1),
        n_batches_for_norm_estimate=10,
    )


class _Batches:
    """An endless iterator of training batches drawn by `sample` (what SAELens's trainer consumes)."""

    def __init__(self, sample: Callable[[int], Tensor], batch_size: int):
        self.sample, self.batch_size = sample, batch_size

    def __iter__(self) -> _Batches:
        return self

    def __next__(self) -> Tensor:
        return self.sample(self.batch_size)


def train_sae(
    sample: Callable[[int], Tensor],
    d_in: int,
    *,
    architecture: Architecture = "topk",
    d_sae: int,
    sparsity: float,
    training_samples: int,
    batch_size: int = 4096,
    lr: float = 4e-4,
    seed: int = 0,
    device: str = "cpu",
) -> Any:
    """Train an SAELens training SAE with its own `SAETrainer` on batches drawn by `sample(n) -> [n, d_in]`
    (constant learning rate, no W&B). Returns the `TrainingSAE`; `save_inference_model(folder)` writes a
    folder that `SAE.load_from_disk` reads."""
    from sae_lens.training.sae_trainer import SAETrainer

    torch.manual_seed(seed)
    sae = make_sae(architecture, d_in, d_sae, sparsity, device)
    trainer_cfg = trainer_config(training_samples=training_samples, batch_size=batch_size, lr=lr, device=device)
    batches = _Batches(sample, batch_size)
    SAETrainer(cfg=trainer_cfg, sae=sae, data_provider=batches, save_checkpoint_fn=lambda path: None).fit()
    return sae
