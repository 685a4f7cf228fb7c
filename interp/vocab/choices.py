"""Every option that takes one of a fixed set of values, as a `Literal` type defined once.

Signatures use these types (type checkers read them), public functions call `check_choice` on entry
(so a typo gets a message that lists the valid values, whoever calls), and the command line
(`choices=options(Direction)`) and the app's select boxes read the values from here instead of
listing them again.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "Ablation",
    "Architecture",
    "AttnSite",
    "BiasName",
    "BlockSite",
    "ControlKind",
    "Corruption",
    "DType",
    "DeviceChoice",
    "Direction",
    "EdgeMethod",
    "EditMode",
    "Granularity",
    "HeadScoreName",
    "JobArchitecture",
    "JobSplit",
    "MetricName",
    "NameOrder",
    "PatchMethod",
    "PatchSite",
    "Positions",
    "ProbeKind",
    "ProbeTaskName",
    "ReceiverInput",
    "ResidSite",
    "SiteKind",
    "TaskName",
    "ToySweep",
    "TranscoderArchitecture",
    "check_choice",
    "options",
]

Direction = Literal["denoise", "noise"]
"""denoise: clean activations into the corrupted run (does this activation suffice?); noise: corrupted
activations into the clean run (is it necessary?)."""
MetricName = Literal["logit_diff", "answer_prob", "kl"]
"""Per-prompt task metrics at the metric position (kl is negated KL to the clean run: higher = cleaner)."""
PatchMethod = Literal["fast", "exact"]
"""fast (the default): the numbers of exact with less work (interp.patching.fast); exact: one forward pass per patch."""
BlockSite = Literal["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out"]
"""Sites with one d_model vector per position: blocks.L.hook_<site>."""
AttnSite = Literal["z", "q", "k", "v", "pattern"]
"""Sites inside attention, per head: blocks.L.attn.hook_<site>."""
SiteKind = Literal[BlockSite, AttnSite]
ResidSite = Literal["resid_pre", "resid_mid", "resid_post"]
"""The residual stream's sites: where steering vectors are made and added."""
PatchSite = Literal[SiteKind, "z_pos"]
"""What activation patching can patch: a site kind, or z_pos (each head's output at each position)."""
EdgeMethod = Literal["eap", "eap-ig", "eap-ig-activations", "exact"]
"""How edges are scored (interp.edges): first-order attribution, integrated gradients over the inputs or over each
layer's activations, or exact edge patching (one patched run per edge, the reference)."""
JobSplit = Literal["auto", "data", "saes"]
"""How an SAE job's workers share it (sae.distributed): data, every SAE data-parallel over all workers; saes, the
SAEs dealt out among the workers, each trained whole by one; auto, saes when there are at least as many SAEs as
workers, else data."""
Ablation = Literal["corrupted", "mean", "zero"]
"""What an edge outside a circuit carries instead of its writer's output: the corrupted run's, the mean over the
clean prompts (position by position), or zero."""
ReceiverInput = Literal["q", "k", "v"]
"""Which input of a receiver head a path ends in (path patching)."""
BiasName = Literal["b_Q", "b_K", "b_V", "b_O", "b_in", "b_out"]
"""A block's biases, by their TransformerLens names (interp.core.biases.stacked_bias)."""
Granularity = Literal["component", "head", "neuron"]
"""How finely direct logit attribution itemises the residual stream."""
TaskName = Literal["ioi", "induction", "induction-resample", "lookup"]
"""The built-in clean/corrupted tasks (interp.tasks.generators.make_task says what each corrupts)."""
Corruption = Literal["abc", "s2"]
"""IOI corruptions: three other names (Wang et al.'s ABC), or only the second subject changed."""
NameOrder = Literal["ABBA", "BABA", "mixed"]
"""IOI name order: indirect object first, subject first, or either at random."""
ProbeTaskName = Literal["repeat", "ioi-io"]
"""The built-in probing tasks."""
ProbeKind = Literal["logistic", "linear"]
"""Probe families: logistic (classes) or linear regression (float targets)."""
ControlKind = Literal["token-type", "shuffled", "none"]
"""Control tasks of a probe sweep (see interp.probing.probes.control_labels)."""
EditMode = Literal["ablate", "steer"]
"""Causal edits of a direction or a feature: remove it, or push along it."""
HeadScoreName = Literal["previous_token", "duplicate_token", "induction"]
"""Attention head scores on repeated random tokens."""
Architecture = Literal["topk", "batchtopk", "standard", "gated", "jumprelu"]
"""SAELens training architectures."""
TranscoderArchitecture = Literal["transcoder", "skip_transcoder"]
"""Transcoders an SAE job trains (interp.training.transcoders): BatchTopK in training, saved as SAELens's JumpReLU
transcoder formats; with or without a linear skip path."""
JobArchitecture = Literal[Architecture, TranscoderArchitecture]
"""What an [[sae]] table of a training job trains: an SAE or a transcoder."""
ToySweep = Literal["phase", "dimensionality"]
"""Superposition sweeps: the phase diagram, or dimensions per feature against sparsity."""
Positions = Literal["standard", "rotary"]
"""Positional embeddings of a zoo model: learned absolute, or rotary."""
DType = Literal["float32", "float16", "bfloat16"]
"""Model weight dtypes."""
DeviceChoice = Literal["auto", "cpu", "cuda"]
"""The devices offered in menus; load_model also takes cuda:N. auto: CUDA when present, else the CPU."""


def options(choice: object) -> tuple[str, ...]:
    """The values of a `Literal` type, in order (nested literals flattened)."""
    return tuple(get_args(choice))


def check_choice(value: object, choice: object, name: str) -> None:
    """Raise a ValueError naming `name`, the bad value and the valid ones, unless `value` is one of them."""
    valid = options(choice)
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")
