"""Measure a zoo model's behaviour and mechanism, and write its model card (CARD.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from interp.core.hooks import HookFn, hooks, run_with_cache
from interp.core.interventions import MeanAblate, SetHeads, Zero
from interp.core.locking import lock_free
from interp.core.sites import hook_name
from interp.core.task import Task
from interp.observe.heads import head_scores
from interp.results import HeadScores
from interp.tasks.evaluate import evaluate_task
from interp.tasks.generators import induction_task, ioi_task, make_task
from interp.vocab.types import Model
from interp.zoo.handmade import DESIGN, HANDMADE, distractors
from interp.zoo.known import KNOWN_CIRCUITS, circuit_section
from interp.zoo.words import IOI_TEMPLATES, name_pairs

__all__ = [
    "CARD_SEED",
    "NAMED_HEAD_FLOOR",
    "TARGETS",
    "Accuracy",
    "ablated_accuracy",
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


@lock_free("calls exclusive analyses")
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


@lock_free("calls exclusive analyses")
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
@lock_free("calls exclusive analyses")
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


@lock_free("calls exclusive analyses")
def write_card(name: str, folder: Path, model: Model) -> dict:
    """Evaluate the model in `folder` and write CARD.md and card.json beside it; returns the numbers. A model
    with a known circuit (interp.zoo.known) gets its section in CARD.md and its "true_edges" in card.json."""
    if name in HANDMADE:
        return _write_handmade_card(name, folder, model)
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
        **_known_numbers(name),
    }
    known = "\n" + circuit_section(name) if name in KNOWN_CIRCUITS else ""
    (folder / "card.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (folder / "CARD.md").write_text(_card_text(name, config, measures, heads) + known)
    return numbers


def _known_numbers(name: str) -> dict:
    if name not in KNOWN_CIRCUITS:
        return {}
    return {"true_edges_task": KNOWN_CIRCUITS[name].task, "true_edges": list(KNOWN_CIRCUITS[name].true_edges)}


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


# ---- hand-made models (interp.zoo.handmade) ---------------------------------------------------------


@torch.no_grad()
@lock_free("calls exclusive analyses")
def ablated_accuracy(model: Model, task: Task, *, zero: tuple[str, ...] = (), mean: tuple[str, ...] = ()) -> Accuracy:
    """The task on its clean prompts with components ("L1H0", "MLP1") zero-ablated, or mean-ablated (replaced by
    their mean over the task's clean prompts, position by position)."""
    _, cache = run_with_cache(model, task.clean_tokens, sorted({_site(p)[0] for p in mean}))
    cfg = model.cfg
    zeros = torch.zeros(1, task.n_pos, cfg.n_heads, cfg.d_head, device=cfg.device)
    fwd: list[tuple[str, HookFn]] = []
    for part in zero:
        name, head = _site(part)
        fwd.append((name, Zero() if head is None else SetHeads(zeros, (head,))))
    for part in mean:
        name, head = _site(part)
        fwd.append((name, MeanAblate(cache[name].mean(0, keepdim=True), heads=None if head is None else (head,))))
    with hooks(model, fwd):
        r = evaluate_task(model, task)
    return Accuracy(accuracy=r.clean_accuracy, logit_diff=r.mean_clean_logit_diff, n_prompts=r.n_prompts)


def _site(part: str) -> tuple[str, int | None]:
    """The hook of a head's output ("L1H0": z, head 0) or an MLP's ("MLP1": mlp_out)."""
    if part.startswith("MLP"):
        return hook_name("mlp_out", int(part[3:])), None
    layer, head = part[1:].split("H")
    return hook_name("z", int(layer)), int(head)


def _write_handmade_card(name: str, folder: Path, model: Model) -> dict:
    config = json.loads((folder / "config.json").read_text())
    task = make_task(KNOWN_CIRCUITS[name].task, model, n_prompts=256, seed=CARD_SEED)
    r = evaluate_task(model, task)
    clean = Accuracy(accuracy=r.clean_accuracy, logit_diff=r.mean_clean_logit_diff, n_prompts=r.n_prompts)
    corrupted = Accuracy(accuracy=r.corrupted_accuracy, logit_diff=r.mean_corrupted_logit_diff, n_prompts=r.n_prompts)
    ablations = {
        "L1H0 zero-ablated": ablated_accuracy(model, task, zero=("L1H0",)),
        "distractors mean-ablated": ablated_accuracy(model, task, mean=distractors(name)),
    }
    numbers = {
        "weights_bytes": (folder / "model.safetensors").stat().st_size,
        "task_clean": vars(clean),
        "task_corrupted": vars(corrupted),
        "ablations": {k: vars(v) for k, v in ablations.items()},
        **_known_numbers(name),
    }
    (folder / "card.json").write_text(json.dumps(numbers, indent=2) + "\n")
    text = _handmade_text(name, config, clean, corrupted, ablations)
    (folder / "CARD.md").write_text(text + "\n" + circuit_section(name))
    return numbers


def _handmade_text(name: str, config: dict, clean: Accuracy, corrupted: Accuracy, ablations: dict) -> str:
    m, c = config["model"], config["construction"]
    kind = "attention-only" if m["attn_only"] else f"ReLU MLPs of d_mlp {m['d_mlp']}"
    task = KNOWN_CIRCUITS[name].task
    spaces = ", ".join(f"{k} {a}" + (f"-{b - 1}" if b - a > 1 else "") for k, (a, b) in c["subspaces"].items())
    parts = ", ".join(distractors(name))
    lines = [
        f"# zoo:{name}",
        "",
        f"Weights set by hand, not trained: its circuit for the `{task}` task is known by construction.",
        "",
        "## Construction",
        f"- Architecture: {m['n_layers']} layers, d_model {m['d_model']}, {m['n_heads']} heads of d_head "
        f"{m['d_head']}, {kind}, no LayerNorm (every weight acts exactly as set), learned absolute positions, "
        f"n_ctx {m['n_ctx']}, vocabulary {m['d_vocab']} (word-level).",
        f"- Residual stream subspaces (coordinates): {spaces}. The token embedding of t is 1 at token coordinate "
        "t, the positional embedding of p 1 at position coordinate p"
        + (" and 1 at the constant coordinate." if "constant" in c["subspaces"] else "."),
        *(f"- {line}" for line in DESIGN[name]),
        f"- Mechanism heads attend with a score gap of {c['gap']} (after the 1/sqrt(d_head) scale) over every "
        "other key.",
        f"- Unembedding: the logit of token t is {c['unembed_scale']} times output coordinate t. (The loader's "
        "compatibility mode subtracts the unembedding's mean over the vocabulary: the same shift for every token "
        "at a position, no change to any logit difference.)",
        f"- Distractors ({parts}): seeded random weights (seed {c['seed']}) that read every subspace and write "
        f"into junk, and {c['leak']} times as much into output; nothing in the mechanism reads junk.",
        f"- Reproduce: `interp zoo train {name}` (no training: the weights are set from the seed in well under a "
        "second).",
        "",
        f"## Behaviour (`{task}`, prompts drawn with seed {CARD_SEED})",
        f"- Clean: top-1 accuracy {clean.accuracy:.3f}, mean logit difference {clean.logit_diff:.2f}, "
        f"{clean.n_prompts} prompts.",
        f"- Corrupted: top-1 accuracy {corrupted.accuracy:.3f} (on the clean answer), mean logit difference "
        f"{corrupted.logit_diff:.2f}.",
    ]
    for label, acc in ablations.items():
        lines.append(
            f"- {label[0].upper() + label[1:]} (clean prompts): top-1 accuracy {acc.accuracy:.3f}, mean logit "
            f"difference {acc.logit_diff:.2f}."
        )
    return "\n".join(lines) + "\n"
