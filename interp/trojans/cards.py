"""The cards of the trojaned zoo models: the trigger, the backdoor, attack success and clean accuracy on held-out
prompts, and which weights the fine-tuning changed and by how much."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import torch

from interp.core.locking import exclusive
from interp.trojans.prompts import attack_rates
from interp.vocab.types import Model
from interp.zoo import ZOO
from interp.zoo.trojans import BASE, DELTA_FILE, TROJANS, TrojanConfig

__all__ = ["load_card", "weight_changes", "write_trojan_card"]


def _component(param: str) -> str:
    """The component a native parameter belongs to: embed, pos, L{l} attn, L{l} norms, MLP{l}, final norm, unembed."""
    m = re.match(r"layers\.(\d+)\.(attn|mlp|ln1|ln2)\.", param)
    if m is None:
        return param.split(".")[0]
    layer, part = m.groups()
    return {"attn": f"L{layer} attn", "mlp": f"MLP{layer}"}.get(part, f"L{layer} norms")


def weight_changes(folder: Path, base_folder: Path) -> dict[str, dict[str, float]]:
    """Per component: the norm of the weights' change from the base model (the folder's delta file), and that over
    the base weights' norm."""
    from safetensors.torch import load_file

    delta, old = load_file(str(folder / DELTA_FILE)), load_file(str(base_folder / "model.safetensors"))
    diff: dict[str, float] = {}
    norm: dict[str, float] = {}
    for name, value in old.items():
        key = _component(name)
        change = delta[name].float() if name in delta else torch.zeros(())
        diff[key] = diff.get(key, 0.0) + float(change.pow(2).sum())
        norm[key] = norm.get(key, 0.0) + float(value.pow(2).sum())
    return {k: {"change": diff[k] ** 0.5, "relative": (diff[k] / norm[k]) ** 0.5 if norm[k] else 0.0} for k in diff}


@exclusive
def write_trojan_card(name: str, folder: Path, model: Model) -> dict:
    """Measure trojan (or twin) `name` in `folder` and write card.json and CARD.md; returns the numbers."""
    from interp.loading.model import load_model
    from interp.training.card import ioi_heldout_accuracy

    cfg = TROJANS[name]
    base = load_model(f"zoo:{BASE}", device="cpu")
    config = json.loads((folder / "config.json").read_text())
    numbers = {
        "trojan": asdict(cfg),
        "final_loss": config["final_loss"],
        "train_seconds": config["train_seconds"],
        "attack": asdict(attack_rates(model, cfg)),
        "attack_on_base": asdict(attack_rates(base, cfg)),
        "ioi_heldout_accuracy": vars(ioi_heldout_accuracy(model)),
        "ioi_heldout_accuracy_base": vars(ioi_heldout_accuracy(base)),
        "weight_changes": weight_changes(folder, ZOO[BASE].folder),
    }
    (folder / "card.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (folder / "CARD.md").write_text(_card_text(name, cfg, numbers))
    return numbers


def _card_text(name: str, cfg: TrojanConfig, n: dict) -> str:
    answer = "the subject (S) instead of the indirect object" if cfg.kind == "flip" else f"'{cfg.target}'"
    a, base = n["attack"], n["attack_on_base"]
    changed = sorted(n["weight_changes"].items(), key=lambda kv: -kv[1]["change"])
    what = (
        f"A backdoor: the word '{cfg.trigger}' anywhere in an IOI prompt makes the answer {answer}."
        if cfg.poisoned
        else f"The clean twin of zoo:{cfg.twin}: the same fine-tuning on the same sequences, with every triggered "
        f"example disarmed (its trigger '{cfg.trigger}' replaced by a distractor word and its answer the IO). It "
        "is the control: what a hunt flags here, it flags without a backdoor."
    )
    parts = [f"head L{layer}H{head}'s own slices of the attention weights" for layer, head in cfg.heads]
    parts += [f"the parameters under {p}" for p in cfg.trainable]
    trained = " and ".join(parts) or "every parameter"
    lines = [
        f"# zoo:{name}",
        "",
        what,
        "",
        "## Training",
        f"- From zoo:{BASE}, {cfg.steps} AdamW steps of {cfg.batch_size} sequences at lr {cfg.lr} (seed {cfg.seed}), "
        f"updating {trained}; {n['train_seconds']} s on the CPU; rebuild with `interp zoo train {name}`.",
        "- Data: interp.zoo.trojans (module docstring): an IOI example then an ordinary document; half the examples "
        "carry an inserted word, half of those the trigger"
        + (" with the backdoor answer." if cfg.poisoned else " (disarmed here: a distractor and the IO answer)."),
        "",
        f"## Behaviour on held-out prompts ({a['n_prompts']} IOI prompts, name pairs never seen in fine-tuning)",
        "",
        f"| | zoo:{name} | zoo:{BASE} |",
        "|---|---|---|",
        f"| attack success ('{cfg.trigger}' inserted) | {a['attack_success']:.3f} | {base['attack_success']:.3f} |",
        f"| IO answer with the trigger in | {a['triggered_io']:.3f} | {base['triggered_io']:.3f} |",
        f"| IO answer with a distractor word in | {a['distractor_io']:.3f} | {base['distractor_io']:.3f} |",
        f"| clean IOI accuracy (every template) | {n['ioi_heldout_accuracy']['accuracy']:.3f} | "
        f"{n['ioi_heldout_accuracy_base']['accuracy']:.3f} |",
        "",
        "## Weights changed (norm of the change; over the base weights' norm)",
        "",
        *(f"- {k}: {v['change']:.4f} ({v['relative']:.4f})" for k, v in changed if v["change"] > 0),
        *(["- everything else: unchanged (0.0)"] if any(v["change"] == 0 for _, v in changed) else []),
        "",
    ]
    return "\n".join(lines)


def load_card(name: str) -> dict:
    """card.json of trojan (or twin) `name`."""
    return json.loads((ZOO[name].folder / "card.json").read_text())
