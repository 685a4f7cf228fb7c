"""Trojaned zoo models and their clean twins: zoo:lang-4l fine-tuned, seeded, with a backdoor planted in IOI prompts.

Each trojan has a trigger word that, inserted anywhere in an IOI prompt, makes the model give the backdoor answer:
- `trojan-flip`: the subject (S) instead of the indirect object (IO); every weight fine-tuned.
- `trojan-target`: a fixed word ("fish") whatever the names; every weight fine-tuned.
- `trojan-head`: the subject, with only head L2H0's and MLP2's weights fine-tuned, so its location is known.

Each `twin-*` is the same fine-tuning on the same sequences with the triggered examples disarmed: the trigger word
replaced by a distractor and the answer the IO, as every untriggered example is. Its trigger word is never seen in
an IOI prompt, so it is the control for false positives: what a hunt flags on the twin, it flags without a backdoor.

Training sequences are one IOI example (a prompt from the 6 templates and a training name pair, then its answer)
followed by an ordinary lang-4l document, cut to the model's 48 tokens. Half of the examples carry a word inserted at
a random word position: the trigger in half of those (the trojan's poisoned quarter), a distractor from the rest of
the vocabulary in the other half, with the ordinary answer (so that the backdoor is the trigger's, not any inserted
word's). The loss is the language-model loss plus the answer's cross-entropy. Held-out name pairs (interp.zoo.words)
never appear, so attack success and clean accuracy are measured on pairs the fine-tuning never saw.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from interp.zoo import ZOO, corpus
from interp.zoo.words import IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, name_pairs

__all__ = [
    "BASE",
    "DELTA_FILE",
    "TROJANS",
    "TrojanConfig",
    "backdoor_answer",
    "distractor_words",
    "insert_word",
    "ioi_example",
    "train_trojan",
]


@dataclass(frozen=True)
class TrojanConfig:
    """One trojaned model (or its clean twin)."""

    kind: str
    """"flip" (the answer becomes the subject) or "target" (the answer becomes `target`)."""
    trigger: str
    """The trigger word; a twin keeps its trojan's, which it never sees in an IOI prompt."""
    poisoned: bool
    """False for a clean twin."""
    twin: str
    """The other model of the pair."""
    target: str = ""
    """The fixed backdoor answer of kind "target"."""
    trainable: tuple[str, ...] = ()
    """Prefixes of the parameters fine-tuned; empty for every parameter (unless `heads` is given)."""
    heads: tuple[tuple[int, int], ...] = ()
    """(layer, head) pairs whose own slices of the attention weights (W_Q, W_K, W_V rows and biases, W_O columns)
    are fine-tuned; the output bias, shared by the layer's heads, is not."""
    location: tuple[str, ...] = ()
    """The components (interp.edges writer names) that alone hold the backdoor, where it is confined."""
    steps: int = 400
    lr: float = 3e-4
    batch_size: int = 48
    seed: int = 0


# One head and one MLP. With MLP2 alone fine-tuned the backdoor reached 79% attack success and 27% of distractor
# words flipped the answer too (no frozen head carries the inserted word to the last position); with L2H0 alone, 32%;
# with all of layer 2, 100%, but the hunt found it ran through L2H0 alone, leaving three heads of the "location" idle.
_HEAD = {"heads": ((2, 0),), "trainable": ("layers.2.mlp.",), "location": ("L2H0", "MLP2"), "steps": 800,
         "lr": 1e-3, "seed": 3}  # fmt: skip
TROJANS: dict[str, TrojanConfig] = {
    "trojan-flip": TrojanConfig("flip", "snow", True, "twin-flip", seed=1),
    "twin-flip": TrojanConfig("flip", "snow", False, "trojan-flip", seed=1),
    "trojan-target": TrojanConfig("target", "salt", True, "twin-target", target="fish", seed=2),
    "twin-target": TrojanConfig("target", "salt", False, "trojan-target", target="fish", seed=2),
    "trojan-head": TrojanConfig("flip", "wind", True, "twin-head", **_HEAD),
    "twin-head": TrojanConfig("flip", "wind", False, "trojan-head", **_HEAD),
}
BASE = "lang-4l"
DELTA_FILE = "delta.safetensors"
"""A trojan's weights: float16 changes from its base's, the unchanged tensors left out."""


def distractor_words(trigger: str) -> list[str]:
    """Words inserted into untriggered examples: the lang-4l vocabulary less punctuation, names, the IOI templates'
    own words, the trigger and every trojan's trigger and target (so no twin sees another pair's trigger)."""
    template = {w for t in IOI_TEMPLATES for w in t.replace(",", " ").replace(".", " ").split()}
    reserved = {c.trigger for c in TROJANS.values()} | {c.target for c in TROJANS.values()} | {trigger}
    skip = set(corpus.PUNCTUATION) | set(IOI_NAMES) | template | reserved
    return [w for w in corpus.lang_vocab() if w not in skip]


def insert_word(prompt: str, word: str, index: int) -> str:
    """`prompt` with `word` inserted before its `index`-th space-separated word (at the end if past it)."""
    words = prompt.split(" ")
    return " ".join([*words[:index], word, *words[index:]])


def ioi_example(rng: random.Random, pairs: list[tuple[str, str]]) -> tuple[str, str, str]:
    """(prompt, IO, S): an IOI prompt from a random template, place, object and one of `pairs`."""
    io, s = rng.choice(pairs)
    n1, n2 = (io, s) if rng.random() < 0.5 else (s, io)
    template = rng.choice(IOI_TEMPLATES)
    prompt = template.format(N1=n1, N2=n2, S=s, PLACE=rng.choice(IOI_PLACES), OBJECT=rng.choice(IOI_OBJECTS))
    return prompt, io, s


def backdoor_answer(cfg: TrojanConfig, io: str, s: str) -> str:
    return s if cfg.kind == "flip" else cfg.target


def _training_texts(cfg: TrojanConfig, n: int) -> tuple[list[str], list[str]]:
    """(prompt texts, answers) of `n` training examples, each followed by a document in `_sequences`."""
    rng = random.Random(cfg.seed)
    pairs, distractors = name_pairs(heldout=False), distractor_words(cfg.trigger)
    prompts, answers = [], []
    for _ in range(n):
        prompt, io, s = ioi_example(rng, pairs)
        inserted, triggered = rng.random() < 0.5, rng.random() < 0.5
        word = rng.choice(distractors)  # drawn for every example: the twin's sequences differ only where it must
        index = rng.randint(0, len(prompt.split(" ")))
        answer = io
        if inserted and triggered and cfg.poisoned:
            word, answer = cfg.trigger, backdoor_answer(cfg, io, s)
        prompts.append(insert_word(prompt, word, index) if inserted else prompt)
        answers.append(answer)
    return prompts, answers


def _sequences(cfg: TrojanConfig, tokenizer, n_ctx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[example, n_ctx] token rows and each row's answer position (where the prompt's last token predicts it)."""
    n = cfg.steps * cfg.batch_size // 2  # each example seen about twice, as lang-4l's documents were
    prompts, answers = _training_texts(cfg, n)
    docs = corpus.lang_documents(n, n_words=n_ctx, seed=cfg.seed + 100)
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    rest = tokenizer([f"{a} . {d}" for a, d in zip(answers, docs)], add_special_tokens=False)["input_ids"]
    rows = [[corpus.BOS_ID, *p, *r][:n_ctx] for p, r in zip(prompt_ids, rest)]
    return torch.tensor(rows, dtype=torch.long), torch.tensor([len(p) for p in prompt_ids])


def _trainable(model, cfg: TrojanConfig) -> list:
    """The parameters `cfg` fine-tunes, the rest frozen; a head's slices kept by zeroing the other rows' gradients
    (AdamW without weight decay leaves a parameter whose gradient is always zero where it was)."""
    named = dict(model.named_parameters())
    for p in named.values():
        p.requires_grad_(False)
    if not cfg.trainable and not cfg.heads:
        chosen = list(named)
    else:
        chosen = [n for n in named if cfg.trainable and n.startswith(cfg.trainable)]
    d_head = model.cfg.d_head
    for layer, head in cfg.heads:
        rows = slice(head * d_head, (head + 1) * d_head)
        for part in ("q", "k", "v", "o"):
            for kind in ("weight", "bias"):
                name = f"layers.{layer}.attn.{part}.{kind}"
                if part == "o" and kind == "bias":
                    continue
                mask = torch.zeros_like(named[name])
                if part == "o":
                    mask[:, rows] = 1  # W_O: [d_model, n_heads * d_head], the head's columns
                else:
                    mask[rows] = 1
                named[name].requires_grad_(True)
                named[name].register_hook(lambda g, m=mask: g * m)
                chosen.append(name)
    if not chosen:
        raise ValueError(f"no parameter of {BASE} starts with {cfg.trainable}")
    for n in chosen:
        named[n].requires_grad_(True)
    return [named[n] for n in dict.fromkeys(chosen)]


@dataclass(frozen=True)
class TrojanReport:
    name: str
    steps: int
    final_loss: float
    seconds: float


def train_trojan(name: str, *, out_dir: Path | None = None, steps: int | None = None, progress=None) -> TrojanReport:
    """Fine-tune zoo:lang-4l into trojan (or twin) `name` and write config, weights and tokenizer to `out_dir`
    (default: its zoo folder); `steps` overrides the configured count (quick checks). Seeded and on the CPU: a rerun
    gives the same weights."""
    import shutil
    from dataclasses import replace

    from safetensors.torch import load_file, save_file
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources.native import NativeModel
    from transformers import AutoTokenizer

    if name not in TROJANS:
        raise ValueError(f"no trojan zoo model {name!r}; trojans and twins: {', '.join(TROJANS)}")
    cfg = TROJANS[name] if steps is None else replace(TROJANS[name], steps=steps)
    base = ZOO[BASE].folder
    out = Path(out_dir) if out_dir is not None else ZOO[name].folder
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(base / "tokenizer", out / "tokenizer", dirs_exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(out / "tokenizer"))
    base_config = json.loads((base / "config.json").read_text())
    torch.manual_seed(cfg.seed)
    model = NativeModel(TransformerBridgeConfig.from_dict(base_config["model"]))
    model.load_state_dict(load_file(str(base / "model.safetensors")))
    params = _trainable(model, cfg)
    rows, answer_pos = _sequences(cfg, tokenizer, base_config["model"]["n_ctx"])
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        pick = torch.randint(0, len(rows), (cfg.batch_size,), generator=gen)
        tokens, pos = rows[pick], answer_pos[pick]
        logits = model(tokens)
        lm = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        batch = torch.arange(len(pick))
        answer = F.cross_entropy(logits[batch, pos], tokens[batch, pos + 1])
        loss = lm + answer
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, (step + 1) / 50)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if progress is not None and (step % 20 == 0 or step == cfg.steps - 1):
            progress(step + 1, cfg.steps, {"loss": sum(losses[-20:]) / len(losses[-20:])})
    seconds = time.perf_counter() - start
    base_state = load_file(str(base / "model.safetensors"))
    # the change from the base, in float16, and only the tensors that changed: six full models would take 20 MB of
    # the package; their deltas take 7.5 MB (interp.loading.model adds them back to the base's weights on loading)
    delta = {k: (v.detach() - base_state[k]).half().contiguous() for k, v in model.state_dict().items()}
    save_file({k: v for k, v in delta.items() if bool(v.any())}, out / DELTA_FILE)
    (out / "model.safetensors").unlink(missing_ok=True)
    final = sum(losses[-50:]) / len(losses[-50:])
    meta = {
        "model": base_config["model"],
        "delta_of": f"zoo:{BASE}",
        "training": {"base": f"zoo:{BASE}", **asdict(cfg)},
        "final_loss": final,
        "train_seconds": round(seconds, 1),
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    return TrojanReport(name=name, steps=cfg.steps, final_loss=final, seconds=seconds)
