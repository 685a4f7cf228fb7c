"""The editing targets on the real model (zoo:smollm2-135m), on the CPU: generation against transformers, steering's
cost and its concept/fluency trade against prompting, and ROME edits of facts the model gets wrong.

    .venv/bin/python benchmarks/editing.py                      # everything, about 10 minutes on 2 cores; run alone
    .venv/bin/python benchmarks/editing.py --only generation    # or: steering, editing
    .venv/bin/python benchmarks/editing.py --smoke              # every part at the smallest size (SMOKE)

generation: greedy, 8 prompts x 32 new tokens, token for token against transformers' `generate` on the same float
weights; then batch 8 x 64 new tokens, timed three times interleaved (median): ours plain, ours with a steering
vector, ours without the KV cache, and transformers' `generate` on the same left-padded batch.
steering: DiffMean vectors for each concept of interp/zoo/editing/concepts.json at a few layers, swept over strengths,
against no intervention and the prompting baseline (6 open prompts, 32 tokens, greedy, chat template).
editing: each capital the model gets wrong, corrected by ROME at the default layer: time (key statistics cached
once before), efficacy, paraphrases, neighbours (the other capitals' prompts) and unrelated prompts.
`--smoke` (tests/test_benchmarks.py) checks that it runs: this benchmark is about SmolLM2 alone, so it loads it, at
the sizes of SMOKE.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_real_editing import PROMPTS  # the prompts the test compares with transformers


@dataclass(frozen=True)
class Sizes:
    """How much of each part runs."""

    prompts: int = 8
    """Prompts generated from (of PROMPTS), in the comparison with transformers and in the timed batch."""
    new_tokens: int = 32
    """New tokens of each prompt in the comparison with transformers."""
    batch_tokens: int = 64
    """New tokens of each prompt in the timed batch."""
    repeats: int = 3
    """Timed runs of each way to generate (the median counts)."""
    concepts: int | None = None
    """Concepts steered toward (the first ones of concepts.json); None: all."""
    layers: tuple[int, ...] = (4, 8, 12)
    """Layers of the steering vectors."""
    strengths: tuple[float, ...] = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
    """Steering strengths swept."""
    steer_prompts: int | None = None
    """Open prompts steered (interp.steering.PROMPTS); None: all of them."""
    steer_tokens: int = 32
    """New tokens of each steered generation."""
    edits: int | None = None
    """Wrong capitals edited (the first ones); None: all."""
    edit_steps: int = 30
    """ROME's optimisation steps (EditConfig.steps)."""
    edit_tokens: int = 24
    """New tokens of the edit's fluency generations (evaluate_edit's max_new_tokens)."""


SMOKE = Sizes(
    prompts=2, new_tokens=4, batch_tokens=4, repeats=1, concepts=1, layers=(8,), strengths=(0.25,), steer_prompts=1,
    steer_tokens=4, edits=1, edit_steps=2, edit_tokens=4,
)  # fmt: skip
"""--smoke's sizes: every part runs, on SmolLM2 (slow per forward pass on a CPU), as little as it can."""


def generation(model, sizes: Sizes) -> None:
    from transformers import AutoModelForCausalLM

    from interp.core.files import cache_root
    from interp.generation import generate
    from interp.loading.gguf import SOURCE_FILE
    from interp.steering import concept, diffmean_vector, steer_hooks

    # whole conversions only: a conversion killed midway leaves its scratch folder (.convert-*) behind
    (folder,) = [p for p in (cache_root() / "gguf").iterdir() if (p / SOURCE_FILE).is_file()]
    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts, n = PROMPTS[: sizes.prompts], sizes.new_tokens
    ours = generate(model, prompts, max_new_tokens=n)
    same = 0
    for ids, new in zip(ours.prompt_tokens, ours.new_tokens):
        with torch.no_grad():
            ref = hf.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False, pad_token_id=2)
        same += ref[0, len(ids) :].tolist() == list(new)
    k = len(prompts)
    print(f"greedy, {k} prompts x {n} new tokens: {same} of {k} equal to transformers token for token")

    c = concept("weddings")
    steer = steer_hooks(model, diffmean_vector(model, positive=c.positive, negative=c.negative, layer=8), 0.25)
    rows = [list(r) for r in ours.prompt_tokens]
    width = max(map(len, rows))
    padded = torch.tensor([[2] * (width - len(r)) + r for r in rows])
    mask = (torch.arange(width)[None] >= torch.tensor([width - len(r) for r in rows])[:, None]).long()
    n = sizes.batch_tokens

    def hf_run() -> int:
        with torch.no_grad():
            out = hf.generate(padded, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                              pad_token_id=2)  # fmt: skip
        return (out.shape[1] - width) * len(rows)

    runs = {
        "transformers generate": hf_run,
        "ours, plain": lambda: sum(map(len, generate(model, prompts, max_new_tokens=n).new_tokens)),
        "ours, steered": lambda: sum(
            map(len, generate(model, prompts, max_new_tokens=n, interventions=steer).new_tokens)
        ),
        "ours, no KV cache": lambda: sum(
            map(len, generate(model, prompts, max_new_tokens=n, kv_cache=False).new_tokens)
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    tokens: dict[str, int] = {}
    for _ in range(sizes.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            tokens[name] = run()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["ours, plain"])
    print(f"batch {len(prompts)} x {n} new tokens (median of {sizes.repeats}):")
    for name in runs:
        t = statistics.median(times[name])
        print(f"  {name:<24} {t:6.2f} s  {tokens[name] / t:6.1f} tokens/s  {t / base:5.2f} x ours plain")


def steering(model, sizes: Sizes) -> None:
    from interp.steering import PROMPTS as OPEN_PROMPTS
    from interp.steering import concept, concept_names, diffmean_vector, evaluate_steering

    prompts = OPEN_PROMPTS[: sizes.steer_prompts] if sizes.steer_prompts else None  # None: the library's choice
    for name in concept_names()[: sizes.concepts]:
        c = concept(name)
        for layer in sizes.layers:
            vec = diffmean_vector(model, positive=c.positive, negative=c.negative, layer=layer)
            result = evaluate_steering(
                model, vec, concept_name=name, prompts=prompts, strengths=sizes.strengths,
                max_new_tokens=sizes.steer_tokens,
            )  # fmt: skip
            none = result.row("none").perplexity
            print(f"{name}, layer {layer} ({result.seconds:.0f} s): concept score / perplexity (x none's) / repetition")
            for r in result.rows:
                print(f"  {r.label:<10} {r.concept_score:5.2f}  {r.perplexity:7.2f} ({r.perplexity / none:4.2f}x)  "
                      f"{r.repetition:4.2f}   {r.samples[0][:70]!r}")  # fmt: skip


def editing(model, sizes: Sizes) -> None:
    from interp.editing import (
        EditConfig,
        default_layer,
        edit_facts,
        evaluate_edit,
        key_second_moment,
        load_facts,
        neighbours,
        recall_facts,
    )

    facts = load_facts()
    recall = recall_facts(model, facts)
    print(f"{recall.n_known} of {len(facts)} bundled facts known (top-1)")
    key_second_moment(model, default_layer(model.cfg.n_layers))  # cached once, as a user's second edit finds it
    wrong = [f for f, known in zip(facts, recall.known) if not known and f.relation == "capital"]
    print("fact (ROME at the default layer)     seconds  efficacy  paraphrases  specificity  perplexity before/after")
    for fact in wrong[: sizes.edits]:
        start = time.perf_counter()
        edit = edit_facts(model, [fact], config=EditConfig(steps=sizes.edit_steps))
        seconds = time.perf_counter() - start
        result = evaluate_edit(
            model, edit, [fact], neighbours=neighbours(fact, facts), max_new_tokens=sizes.edit_tokens
        )
        print(f"  {fact.subject + ' -> ' + fact.target:<34} {seconds:6.1f}  {result.efficacy:8.2f}  "
              f"{result.generalisation:11.2f}  {result.specificity:11.2f}  {result.fluency_before:.2f} / "
              f"{result.fluency_after:.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("generation", "steering", "editing"))
    parser.add_argument("--smoke", action="store_true", help="every part at the smallest size: checks that it runs")
    args = parser.parse_args(argv)
    from interp.loading.model import load_model

    sizes = SMOKE if args.smoke else Sizes()
    model = load_model("zoo:smollm2-135m", device="cpu")
    with torch.set_grad_enabled(True):  # ROME optimises; restored after (a test runs --smoke in its own process)
        for name, run in (("generation", generation), ("editing", editing), ("steering", steering)):
            if args.only in (None, name):
                print(f"== {name}")
                run(model, sizes)


if __name__ == "__main__":
    main()
