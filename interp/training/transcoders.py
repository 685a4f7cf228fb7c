"""Transcoders: a wide sparse replacement for one MLP, trained to map the MLP's input to its output.

SAELens 6.54 loads transcoders (`sae_lens.saes.transcoder`) but cannot train them (its issue #182), and its
inference classes have no TopK transcoder. So training is a SAELens `TrainingSAE` subclass, registered with
SAELens under TRANSCODER / SKIP_TRANSCODER, which the workbench's SAE jobs train with SAELens's own
`SAETrainer` (schedulers, dead-latent statistics, checkpoints and exact resume come with it). It trains as a
BatchTopK SAE does (k latents per token on average over the batch) and is saved, as SAELens saves BatchTopK
SAEs, as a JumpReLU: the inference folder is SAELens's `jumprelu_transcoder` (or `jumprelu_skip_transcoder`)
format, which `SAE.load_from_disk` and other tools read. eai-sparsify also trains transcoders, but its own
classes, loop and checkpoint layout would sit beside SAELens's rather than in the job machinery.

A job's batch is the MLP input and output side by side (`[row, d_in + d_out]`, the activation cache's two
hooks concatenated): the trainer hands the SAE one tensor, and the SAE splits it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sae_lens import register_sae_training_class
from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY
from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
from sae_lens.saes.sae import SAEConfig, TrainStepInput, TrainStepOutput
from sae_lens.saes.topk_sae import act_times_W_dec
from sae_lens.saes.transcoder import JumpReLUSkipTranscoderConfig, JumpReLUTranscoderConfig
from torch import Tensor, nn

__all__ = [
    "SKIP_TRANSCODER",
    "TRANSCODER",
    "TrainingTranscoder",
    "TrainingTranscoderConfig",
]

TRANSCODER = "transcoder"
SKIP_TRANSCODER = "skip_transcoder"


@dataclass
class TrainingTranscoderConfig(BatchTopKTrainingSAEConfig):
    d_out: int = 0
    """Width of the output (the MLP's d_model)."""

    def __post_init__(self) -> None:
        self.apply_b_dec_to_input = False  # b_dec lives in the output space
        super().__post_init__()
        if self.d_out < 1:
            raise ValueError(f"a transcoder needs d_out >= 1, got {self.d_out}")

    @classmethod
    def architecture(cls) -> str:
        return TRANSCODER

    def get_inference_config_class(self) -> type[SAEConfig]:
        return JumpReLUTranscoderConfig


@dataclass
class TrainingSkipTranscoderConfig(TrainingTranscoderConfig):
    """With a linear skip path W_skip (SAELens's SkipTranscoder): the latents model what the MLP adds beyond a
    linear map of its input."""

    @classmethod
    def architecture(cls) -> str:
        return SKIP_TRANSCODER

    def get_inference_config_class(self) -> type[SAEConfig]:
        return JumpReLUSkipTranscoderConfig


class TrainingTranscoder(BatchTopKTrainingSAE):
    """BatchTopK transcoder in training: encoder [d_in, d_sae], decoder [d_sae, d_out], optional skip [d_out, d_in]."""

    cfg: TrainingTranscoderConfig  # type: ignore[assignment]

    def initialize_weights(self) -> None:
        cfg = self.cfg
        # The encoder cannot start as the decoder's transpose (SAELens's SAE init): input and output differ.
        self.W_enc = nn.Parameter(nn.init.kaiming_uniform_(torch.empty(cfg.d_in, cfg.d_sae, dtype=self.dtype)))
        w_dec = nn.init.kaiming_uniform_(torch.empty(cfg.d_sae, cfg.d_out, dtype=self.dtype))
        if cfg.decoder_init_norm is not None:
            w_dec = w_dec / w_dec.norm(dim=-1, keepdim=True) * cfg.decoder_init_norm
        self.W_dec = nn.Parameter(w_dec)
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae, dtype=self.dtype))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_out, dtype=self.dtype))
        if isinstance(cfg, TrainingSkipTranscoderConfig):
            self.W_skip = nn.Parameter(torch.zeros(cfg.d_out, cfg.d_in, dtype=self.dtype))
        self.to(self.device)

    def process_sae_in(self, sae_in: Tensor) -> Tensor:
        return self.hook_sae_input(sae_in.to(self.dtype))

    def split(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """A job batch -> (MLP input, MLP output)."""
        if batch.shape[-1] != self.cfg.d_in + self.cfg.d_out:
            raise ValueError(
                f"a transcoder batch holds the MLP input and output side by side ({self.cfg.d_in} + "
                f"{self.cfg.d_out} columns); got {batch.shape[-1]}"
            )
        return batch[..., : self.cfg.d_in], batch[..., self.cfg.d_in :]

    def transcode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """MLP input -> (predicted output, latent activations, pre-activations)."""
        feature_acts, hidden_pre = self.encode_with_hidden_pre(x)
        out = act_times_W_dec(feature_acts, self.W_dec, self.cfg.rescale_acts_by_decoder_norm) + self.b_dec
        if hasattr(self, "W_skip"):
            out = out + x.to(self.dtype) @ self.W_skip.T
        return out, feature_acts, hidden_pre

    def training_forward_pass(self, step_input: TrainStepInput) -> TrainStepOutput:
        x, target = self.split(step_input.sae_in)
        out, feature_acts, hidden_pre = self.transcode(x)
        mse = (out - target).pow(2).sum(-1).mean()
        # TopK's auxiliary loss has dead latents predict what the live ones leave of the *target*
        aux = self.calculate_topk_aux_loss(
            sae_in=target, sae_out=out, hidden_pre=hidden_pre, dead_neuron_mask=step_input.dead_neuron_mask
        )
        self.update_topk_threshold(feature_acts)
        return TrainStepOutput(
            sae_in=target,  # what the output is scored against (the job's log reads explained variance from it)
            sae_out=out,
            feature_acts=feature_acts,
            hidden_pre=hidden_pre,
            loss=mse + aux,
            losses={"mse_loss": mse, "auxiliary_reconstruction_loss": aux},
            metrics={"topk_threshold": self.topk_threshold},
        )


for _name, _cfg in ((TRANSCODER, TrainingTranscoderConfig), (SKIP_TRANSCODER, TrainingSkipTranscoderConfig)):
    if _name not in SAE_TRAINING_CLASS_REGISTRY:  # a module reload must not register twice (SAELens refuses)
        register_sae_training_class(_name, TrainingTranscoder, _cfg)
