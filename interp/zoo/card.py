"""Measure a zoo model's behaviour and mechanism, and write its model card (CARD.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from interp.core.hooks import run_with_cache
from interp.core.sites import hook_name
from interp.core.types import Model
from interp.heads import head_scores
from interp.ioi_words import IOI_TEMPLATES, name_pairs
from interp.results import HeadScores
from interp.task_metrics import evaluate_task
from interp.tasks import induction_task, ioi_task

__all__ = [
    "CARD_SEED",
    "NAMED_HEAD_FLOOR",
    "TARGETS",
    "Accuracy",
    "induction_accuracy",
    "ioi_heldout_accuracy",
    "ioi_name_attention",
    "named_heads",
    "write_card",
]

# The accuracies each model's card promises; tests check them on fresh prompts.
TARGETS = {"lang-4l": ("ioi_heldout_accuracy", 0.90), "induction-2l": ("induction_accuracy", 0.90)}
CARD_SEED = 1000  # prompts of the card; tests draw others


@dataclass(frozen=True)
class Accuracy:
    accuracy: float
    """Fraction of prompts whose top-1 next token is the answer."""
    logit_diff: float
    """Mean answer-minus-wrong logit."""
    n_prompts: int


def ioi_heldout_accuracy(model: Model, *, n_per_template: int = 64, seed: int = CARD_SEED) -> Accuracy:
    """IOI over every template, drawing only name pairs never seen together in training."""
    pairs = name_pairs(heldout=True)
    results = [
        evaluate_task(model, ioi_task(model, n_prompts=n_per_template, template=t, pairs=pairs, seed=seed + t))
        for t in range(len(IOI_TEMPLATES))
    ]
    n = sum(r.n_prompts for r in results)
    return Accuracy(
        accuracy=sum(r.clean_accuracy * r.n_prompts for r in results) / n,
        logit_diff=sum(sum(r.clean_logit_diff) for r in results) / n,
        n_prompts=n,
    )


def induction_accuracy(model: Model, *, n_prompts: int = 256, seq_len: int = 12, seed: int = CARD_SEED) -> Accuracy:
    """Continuing a repeated random-token sequence (the induction task's clean prompts)."""
    r = evaluate_task(model, induction_task(model, n_prompts=n_prompts, seq_len=seq_len, seed=seed))
    return Accuracy(accuracy=r.clean_accuracy, logit_diff=r.mean_clean_logit_diff, n_prompts=r.n_prompts)


NAMED_HEAD_FLOOR = 0.3  # a head is named for a score only above this mean attention


def named_heads(scores: HeadScores, name: str) -> list[tuple[str, float]]:
    """The heads that carry a score: the top head and any within half of it, if above the floor."""
    ranked = scores.top_heads(name, k=len(scores.heads))
    return [(h, v) for h, v in ranked if v >= max(0.5 * ranked[0][1], NAMED_HEAD_FLOOR)]


@torch.no_grad()
def ioi_name_attention(
    model: Model, *, n_prompts: int = 64, seed: int = CARD_SEED
) -> dict[str, list[tuple[str, float]]]:
    """Heads whose attention from the final position goes to the IO name (name-mover candidates,
    Wang et al. 2022) or to the repeated subject S2, averaged over prompts of template 0."""
    task = ioi_task(model, n_prompts=n_prompts, seed=seed)
    rows = torch.arange(len(task))
    io_pos = (task.clean_tokens == task.answer_tokens[:, None]).int().argmax(-1)  # the only IO mention
    s2_pos = task.n_pos - 1 - (task.clean_tokens.flip(-1) == task.wrong_tokens[:, None]).int().argmax(-1)
    names = [hook_name("pattern", layer) for layer in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, task.clean_tokens, names)
    found: dict[str, list[tuple[str, float]]] = {"to_io": [], "to_s2": []}
    for layer, name in enumerate(names):
        last = cache[name][rows, :, task.metric_pos]  # batch head key
        for key, pos in (("to_io", io_pos), ("to_s2", s2_pos)):
            for head, value in enumerate(last[rows, :, pos].mean(0).tolist()):
                if value >= NAMED_HEAD_FLOOR:
                    found[key].append((f"L{layer}H{head}", value))
    return {k: sorted(v, key=lambda x: -x[1]) for k, v in found.items()}


def write_card(name: str, folder: Path, model: Model) -> dict:
    """Evaluate the model in `folder` and write CARD.md and card.json beside it; returns the numbers."""
    config = json.loads((folder / "config.json").read_text())
    measures = {"induction_accuracy": induction_accuracy(model)}
    if name == "lang-4l":
        measures["ioi_heldout_accuracy"] = ioi_heldout_accuracy(model)
    scores = head_scores(model, n_prompts=32, seed=CARD_SEED)
    heads = {s: named_heads(scores, s) for s in ("previous_token", "induction", "duplicate_token")}
    if name == "lang-4l":
        heads |= {f"ioi_attention_{k}": v for k, v in ioi_name_attention(model).items()}
    numbers = {
        "final_loss": config["final_loss"],
        "train_seconds": config["train_seconds"],
        "weights_bytes": (folder / "model.safetensors").stat().st_size,
        **{k: vars(v) for k, v in measures.items()},
        "heads": {s: [[h, round(v, 3)] for h, v in hs] for s, hs in heads.items()},
        "head_scores": scores.scores,
    }
    (folder / "card.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (folder / "CARD.md").write_text(_card_text(name, config, measures, heads))
    return numbers


def _card_text(name: str, config: dict, measures: dict[str, Accuracy], heads: dict[str, list]) -> str:
    t, m = config["training"], config["model"]
    kind = "attention-only" if m["attn_only"] else f"d_mlp {m['d_mlp']}, GELU MLPs"
    positions = "rotary" if m["positional_embedding_type"] == "rotary" else "learned absolute"
    data = {
        "induction-2l": (
            "BOS then back-to-back segments 'noise A noise A' of uniform random tokens (253-word syllable "
            "vocabulary): A is 3-24 tokens, each noise gap 0-6 tokens, drawn afresh per segment, so neither "
            "position nor distance tells where the copy's source is"
        ),
        "lang-4l": (
            "generated documents (48 tokens each) mixing IOI sentences (6 templates, 40 names, 45% of sentences), "
            "simple facts (15%), filler-word lists said twice in a 'X wrote : ... Y read : ...' frame (10%), runs "
            "of 4-16 words from the whole vocabulary repeated verbatim (20%) and counting (10%); IOI name pairs "
            "held out for evaluation (1 in 5, by CRC32 of the pair) never co-occur in an IOI sentence in training"
        ),
    }[name]
    lines = [
        f"# zoo:{name}",
        "",
        "## Training",
        f"- Architecture: {m['n_layers']} layers, d_model {m['d_model']}, {m['n_heads']} heads of d_head "
        f"{m['d_head']}, {kind}, LayerNorm, {positions} positions, n_ctx {m['n_ctx']}, "
        f"vocabulary {m['d_vocab']} (word-level).",
        f"- Data: {data}.",
        f"- Optimiser: AdamW, peak lr {t['lr']}, weight decay {t['weight_decay']}, {t['warmup']} warm-up steps "
        f"then cosine decay to 10%; {t['steps']} steps of {t['batch_size']} sequences; seed {t['seed']}.",
        f"- Reproduce: `interp zoo train {name}` (CPU, {config['train_seconds']:.0f} s on the machine that built it).",
        f"- Final training loss (mean of the last 100 steps): {config['final_loss']:.4f} nats/token.",
        "",
        f"## Behaviour (prompts drawn with seed {CARD_SEED})",
    ]
    labels = {
        "induction_accuracy": "Induction (continue a repeated random sequence of 12 tokens)",
        "ioi_heldout_accuracy": "IOI on held-out name pairs, all 6 templates",
    }
    for key, acc in measures.items():
        lines.append(
            f"- {labels[key]}: top-1 accuracy {acc.accuracy:.3f}, mean logit difference {acc.logit_diff:.2f}, "
            f"{acc.n_prompts} prompts."
        )
    lines += [
        "",
        "## Mechanism",
        "Head scores on 32 sequences of 20 random tokens said twice: mean attention weight on the score's "
        f"target position. A head is named above {NAMED_HEAD_FLOOR}.",
    ]
    for score in ("previous_token", "induction", "duplicate_token"):
        lines.append(
            f"- {score.replace('_', '-')} heads: " + (", ".join(f"{h} ({v:.2f})" for h, v in heads[score]) or "none")
        )
    if "ioi_attention_to_io" in heads:
        lines.append(
            "\nIOI (64 prompts of template 0): heads whose attention from the final token goes to a name, "
            f"above {NAMED_HEAD_FLOOR}."
        )
        for key, label in (
            ("ioi_attention_to_io", "to the indirect object (name-mover candidates)"),
            ("ioi_attention_to_s2", "to the repeated subject S2"),
        ):
            lines.append(f"- {label}: " + (", ".join(f"{h} ({v:.2f})" for h, v in heads[key]) or "none"))
    return "\n".join(lines) + "\n"
