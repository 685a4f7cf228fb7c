"""Results of editing what a model has learned: generations (interp.generation), steering vectors and their
evaluation (interp.steering), causal traces and knowledge edits with their evaluation (interp.editing)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jaxtyping import Float
from torch import Tensor

from interp.results.io import Floats, Floats3

__all__ = [
    "CausalTrace",
    "EditEvaluation",
    "FactRecall",
    "FactScore",
    "Generation",
    "KnowledgeEdit",
    "SteeringEvaluation",
    "SteeringRow",
    "SteeringVector",
]


@dataclass(frozen=True)
class Generation:
    """New text for each of a batch of prompts, with the settings and the interventions that made it."""

    model: str
    prompts: tuple[str, ...]
    """As given (before any chat template)."""
    texts: tuple[str, ...]
    """Per prompt: the continuation alone, cut before a stop string or the end-of-text token."""
    prompt_tokens: tuple[tuple[int, ...], ...]
    """Per prompt: the token ids the model read (chat template and BOS included)."""
    new_tokens: tuple[tuple[int, ...], ...]
    """Per prompt: the token ids generated, up to and including the one that stopped it."""
    stopped_by: tuple[str, ...]
    """Per prompt: "eos" (an end token), "stop" (a stop string), or "length" (max_new_tokens reached)."""
    max_new_tokens: int
    temperature: float
    """0: greedy."""
    top_p: float
    seed: int
    chat: bool
    interventions: tuple[str, ...]
    """"hook: intervention" for each intervention active during the generation."""
    kv_cache: bool
    """Whether the model's own KV cache was used (Hugging Face-backed models); without it every step reruns the
    whole sequence (TransformerLens's native models, whose forward keeps no cache)."""
    seconds: float


@dataclass(frozen=True)
class SteeringVector:
    """A direction to add to a model's activations at one hook: how it was made and on what, so that it is
    applied only where it fits. Saved as `vector.safetensors` + `vector.json` (interp.steering.save_vector)."""

    model: str
    hook: str
    method: str
    """"contrast" (activation addition on one prompt pair), "diffmean" (mean difference of two prompt sets), "probe"
    (a probe's weight vector), or "sae-latent" (an SAE latent's decoder row)."""
    vector: Float[Tensor, " d_model"]
    """The direction as made (a mean difference keeps its norm)."""
    scale: float
    """The mean norm of the activation at `hook` on the prompts that made it: strength 1 adds a vector that long."""
    source: str
    """How it was made, in words (the prompts, the probe, the SAE and latent)."""
    n_positive: int = 0
    n_negative: int = 0


@dataclass(frozen=True)
class SteeringRow:
    """One way of steering the generations, scored."""

    label: str
    """"none", "prompting", or "steer {strength}"."""
    strength: float
    """0 for the rows that add no vector."""
    concept_score: float
    """The share of generations that express the concept (interp.steering.sweep's lexicon measure)."""
    concept_rate: float
    """Concept words per 100 words of the generations."""
    perplexity: float
    """Of the generations under the unsteered model, given the plain prompt: higher = less fluent."""
    repetition: float
    """The share of each generation's word 3-grams that repeat an earlier one, averaged."""
    samples: tuple[str, ...]
    """The generations themselves."""


@dataclass(frozen=True)
class SteeringEvaluation:
    """A strength sweep of one steering vector against no intervention and a prompting baseline."""

    model: str
    concept: str
    hook: str
    method: str
    prompts: tuple[str, ...]
    rows: tuple[SteeringRow, ...]
    """"none", "prompting" (unless the model cannot read the instruction), then one row per strength."""
    baseline: str
    """The prompting baseline's instruction, or why there is none."""
    max_new_tokens: int
    seconds: float

    def row(self, label: str) -> SteeringRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"no row {label!r}; rows: {', '.join(r.label for r in self.rows)}")


@dataclass(frozen=True)
class CausalTrace:
    """Causal tracing (Meng et al. 2022): the subject's token embeddings noised, then one site's activation restored
    from the clean run at one layer and position; how much of the target's probability comes back."""

    model: str
    prompt: str
    subject: str
    target: str
    tokens: tuple[str, ...]
    """The prompt's tokens: the `pos` axis."""
    subject_positions: tuple[int, ...]
    sites: tuple[str, ...]
    """The `site` axis: "resid_post", "mlp_out", "attn_out"."""
    layers: tuple[int, ...]
    values: Floats3
    """[site][layer][pos]: the target's probability with that activation restored."""
    clean_prob: float
    corrupted_prob: float
    noise: float
    """The noise's standard deviation (3 x the embeddings' own, as Meng et al.)."""
    n_samples: int
    window: int = 1
    """MLP and attention outputs were restored at this many consecutive layers around each layer (the residual
    stream at one)."""


@dataclass(frozen=True)
class FactScore:
    """One prompt of a fact, before and after an edit: the probability of the old and the new target."""

    prompt: str
    kind: str
    """"edit" (the prompt edited), "paraphrase", "neighbour" (another subject; must keep its answer) or "unrelated"."""
    expected: str
    """What a success is: the new target (edit, paraphrase), or the prompt's own answer (neighbour, unrelated)."""
    before_top: str
    after_top: str
    before_prob: float
    """Of `expected`'s first token, before the edit."""
    after_prob: float
    success: bool
    """After the edit: `expected` is the top prediction."""


@dataclass(frozen=True)
class EditEvaluation:
    """An edit's scores: efficacy, generalisation, specificity and fluency, before and after."""

    model: str
    edits: tuple[str, ...]
    """"subject: old -> new" per fact edited."""
    layers: tuple[int, ...]
    method: str
    """"rome" (one layer, rank one per fact) or "memit" (spread over `layers`)."""
    scores: tuple[FactScore, ...]
    efficacy: float
    """The share of edit prompts whose top prediction is the new target."""
    generalisation: float
    """The same on the paraphrases."""
    specificity: float
    """The share of neighbour and unrelated prompts whose top prediction is unchanged."""
    fluency_before: float
    """Perplexity of the unedited model's free generations about the subjects, under the unedited model."""
    fluency_after: float
    """The same for the edited model's generations (still scored by the unedited model)."""
    generations_before: tuple[str, ...]
    generations_after: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class KnowledgeEdit:
    """A change to a model's knowledge as a value: low-rank additions to MLP output weights (W_out[L] += left @ right),
    with the base model's spec and the facts taught. Saved as edit.safetensors + edit.json in an edited model's
    folder, which `load_model(folder)` loads as the base with the change added."""

    model: str
    """The base model's spec."""
    method: str
    """"rome" (rank one per fact at one layer) or "memit" (the facts spread over several layers)."""
    facts: tuple[str, ...]
    """"{prompt} -> {target}" per fact taught."""
    layers: tuple[int, ...]
    left: Float[Tensor, "layer d_model rank"] = field(repr=False)
    right: Float[Tensor, "layer rank d_mlp"] = field(repr=False)
    settings: str = ""
    """The optimisation's settings, in words."""

    def __str__(self) -> str:
        norms = ", ".join(
            f"L{layer}: |dW| {float((a @ b).norm()):.3g}" for layer, a, b in zip(self.layers, self.left, self.right)
        )
        return f"{self.method} edit of {self.model} ({norms}): " + "; ".join(self.facts)


@dataclass(frozen=True)
class FactRecall:
    """What a model answers to each fact's prompt: does it know it?"""

    model: str
    subjects: tuple[str, ...]
    prompts: tuple[str, ...]
    targets: tuple[str, ...]
    predicted: tuple[str, ...]
    """The top next token."""
    target_probs: Floats
    """The probability of the target's first token."""
    known: tuple[bool, ...]
    """The top next token is the target's first token."""

    @property
    def n_known(self) -> int:
        return sum(self.known)
