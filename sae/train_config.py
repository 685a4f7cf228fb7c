"""The configuration of an SAE training job (`sae train CONFIG.toml`): frozen dataclasses, parsed from TOML.

    model = "zoo:lang-4l"
    hook = "blocks.2.hook_resid_post"
    training_tokens = 3_000_000
    [[sae]]
    architecture = "topk"
    d_sae = 1024
    sparsity = 16

Several [[sae]] tables, or list values in one (`sparsity = [8, 16, 32, 64]`: one SAE per
combination), make a sweep: every SAE trains from the same cached activations.

Transcoders (interp.training.transcoders) train the same way: `architecture = "transcoder"` (or "skip_transcoder") with
`layer = [0, 1, 2, 3]` trains one per MLP, all from one cache of every named MLP's input and output:

    [[sae]]
    architecture = "transcoder"
    layer = [0, 1, 2, 3]
    d_sae = 1024
    sparsity = 16
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from interp.core.limits import check_fields
from interp.core.sites import mlp_hooks
from interp.results import read_text
from interp.training.dictionaries import SPARSITY_FIELD
from interp.vocab.choices import JobArchitecture, TranscoderArchitecture, check_choice
from interp.zoo.texts import HELDOUT, check_text_source, is_text_source

__all__ = ["SAESpec", "TrainJobConfig", "expand_sweep", "is_transcoder"]


def is_transcoder(architecture: str) -> bool:
    return architecture in TranscoderArchitecture.__args__


@dataclass(frozen=True, kw_only=True)
class SAESpec:
    """One SAE of a job. Keyword arguments only: a field added between others (`layer`) once shifted a caller's
    positional learning rate into it."""

    architecture: JobArchitecture = "topk"
    """An SAELens training architecture (interp.vocab.choices.Architecture), or a transcoder
    (interp.vocab.choices.TranscoderArchitecture)."""
    layer: int = -1
    """For a transcoder: the block whose MLP it replaces (its input and output are interp.core.sites.mlp_hooks)."""
    d_sae: int = 1024
    """Latents."""
    sparsity: float = 16
    """k for topk/batchtopk; the L1 coefficient for standard/gated; the L0 coefficient for jumprelu."""
    lr: float = 1e-3
    """Adam learning rate (constant)."""
    name: str = ""
    """Folder name under the job's output; default architecture-d_sae-sparsity."""

    def __post_init__(self) -> None:
        check_fields(SAESpec, vars(self))
        if is_transcoder(self.architecture):
            if self.layer < 0:
                raise ValueError(f"a {self.architecture} needs the `layer` whose MLP it replaces (0, 1, ...)")
        else:
            check_choice(self.architecture, JobArchitecture, "architecture")
            if self.layer != -1:
                raise ValueError(f"`layer` is for transcoders; a {self.architecture} SAE reads the job's `hook`")
        if self.d_sae < 1 or self.sparsity <= 0 or self.lr <= 0:
            raise ValueError(f"d_sae, sparsity and lr must be positive, got {self.d_sae}, {self.sparsity}, {self.lr}")
        if SPARSITY_FIELD[self.architecture] == "k" and (
            self.sparsity != int(self.sparsity) or self.sparsity > self.d_sae
        ):
            raise ValueError(
                f"for {self.architecture}, sparsity is k, the latents kept per token: a whole number from 1 to d_sae "
                f"({self.d_sae}); got {self.sparsity}"
            )
        if not self.name:
            at = f"-L{self.layer}" if is_transcoder(self.architecture) else ""
            object.__setattr__(self, "name", f"{self.architecture}{at}-{self.d_sae}-{self.sparsity:g}")

    def hooks(self, job_hook: str) -> tuple[str, ...]:
        """The cached hooks this SAE trains on, side by side: the job's hook, or a transcoder's MLP input and
        output."""
        return mlp_hooks(self.layer) if is_transcoder(self.architecture) else (job_hook,)


@dataclass(frozen=True)
class TrainJobConfig:
    """An SAE training job: where the activations come from, how long to train, where results go."""

    model: str = "zoo:lang-4l"
    """Any `load_model` spec."""
    hook: str = "blocks.2.hook_resid_post"
    """The hook whose activations the SAEs reconstruct (transcoders read their MLP's hooks instead)."""
    saes: tuple[SAESpec, ...] = field(default_factory=lambda: (SAESpec(),))
    """One or more SAEs (a sweep); all train from one activation cache."""
    training_tokens: int = 3_000_000
    """Activations each SAE trains on (cycling through the cache in a fresh seeded order each pass)."""
    batch_size: int = 4096
    """Activations per step."""
    dataset_tokens: int = 120_000
    """Distinct tokens whose activations are cached."""
    context: int = 48
    """Tokens per prompt when collecting activations."""
    dataset: str = ""
    """The token source (see `interp.loading.token_sources`): text:python-docs or text:fortunes (named English
    text; training reads their training split), a .txt or .jsonl file, a datasets `save_to_disk` folder, or
    hf:NAME; empty for a zoo model's own corpus."""
    text_column: str = "text"
    """The field holding the text in jsonl and datasets sources."""
    shard_tokens: int = 50_000
    """Activations per cache shard; training holds at most two shards in memory."""
    checkpoint_every: int = 500_000
    """Tokens between checkpoints (a killed job resumes from the last one)."""
    log_every: int = 20
    """Steps between log lines (loss, L0, explained variance of the batch)."""
    device: str = "auto"
    """auto (CUDA when present), cpu, cuda or cuda:N."""
    seed: int = 0
    """Seeds the token rows, the batch order and the SAEs' initialisation."""
    out: str = "runs/sae-train"
    """The job's folder: the activation cache, and one folder per SAE."""

    def __post_init__(self) -> None:
        check_fields(TrainJobConfig, vars(self))
        if not self.saes:
            raise ValueError("a job needs at least one [[sae]]")
        names = [s.name for s in self.saes]
        if len(set(names)) != len(names):
            raise ValueError(f"SAE names must differ, got {names}")
        for name in (
            "training_tokens",
            "batch_size",
            "dataset_tokens",
            "context",
            "checkpoint_every",
            "log_every",
            "shard_tokens",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.shard_tokens < self.batch_size:
            raise ValueError(
                f"shard_tokens ({self.shard_tokens}) must be at least batch_size ({self.batch_size}): a batch "
                "reads at most two shards"
            )
        if self.training_tokens < self.batch_size:
            raise ValueError("training_tokens must be at least one batch")
        if is_text_source(self.dataset) and check_text_source(self.dataset)[1] == HELDOUT:
            # `sae eval` reads this split for an SAE trained on the source: training on it would leave no unseen text
            raise ValueError(
                f"dataset {self.dataset} is the held-out split, kept for evaluation: train on "
                f"{self.dataset.rsplit('/', 1)[0]}"
            )

    @property
    def cached_hooks(self) -> tuple[str, ...]:
        """Every hook the job's SAEs train on, each once, in the order the SAEs name them."""
        return tuple(dict.fromkeys(hook for spec in self.saes for hook in spec.hooks(self.hook)))

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainJobConfig:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no config file at {path}")
        try:
            data = tomllib.loads(read_text(path, "a job config"))
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path} is not valid TOML: {err}") from err
        except RecursionError as err:  # tomllib recurses once per nested array
            raise ValueError(f"{path} nests deeper than a TOML reader can follow") from err
        if not data:
            raise ValueError(f"{path} holds no settings: a job needs at least its model, hook and [[sae]] tables")
        saes = data.pop("sae", [{}])
        known = {f.name for f in fields(cls)} - {"saes"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"{path}: unknown keys {', '.join(sorted(unknown))}; the keys are {', '.join(sorted(known))} "
                "and [[sae]] tables"
            )
        spec_keys = {f.name for f in fields(SAESpec)}
        for table in saes:
            if set(table) - spec_keys:
                raise ValueError(
                    f"{path}: unknown [[sae]] keys {', '.join(sorted(set(table) - spec_keys))}; they are "
                    f"{', '.join(sorted(spec_keys))}"
                )
        try:
            tables = [t for table in saes for t in expand_sweep(table)]
            check_fields(cls, data)  # the file's values, before the dataclasses are built from them
            for table in tables:
                check_fields(SAESpec, table)
            return cls(saes=tuple(SAESpec(**t) for t in tables), **data)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: {err}") from err


def expand_sweep(table: dict) -> list[dict]:
    """One [[sae]] table whose values may be lists -> one table per combination (a grid sweep):
    `d_sae = [512, 1024]` with `sparsity = [16, 32]` makes four SAEs."""
    if "name" in table and any(isinstance(v, list) for v in table.values()):
        raise ValueError("a [[sae]] table with list values makes several SAEs, so it cannot set one name")
    grid = [{}]
    for key, value in table.items():
        grid = [{**row, key: v} for row in grid for v in (value if isinstance(value, list) else [value])]
    return grid
