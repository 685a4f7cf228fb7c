"""The editing targets on the real model (zoo:smollm2-135m), on the CPU: generation against transformers, steering's
cost and its concept/fluency trade against prompting, and ROME edits of facts the model gets wrong.

    .venv/bin/python benchmarks/editing.py                      # everything, about 10 minutes on 2 cores; run alone
    .venv/bin/python benchmarks/editing.py --only generation    # or: steering, editing

generation: greedy, 8 prompts x 32 new tokens, token for token against transformers' `generate` on the same float
weights; then batch 8 x 64 new tokens, timed three times interleaved (median): ours plain, ours with a steering
vector, ours without the KV cache, and transformers' `generate` on the same left-padded batch.
steering: DiffMean vectors for each concept of interp/zoo/editing/concepts.json at a few layers, swept over strengths,
against no intervention and the prompting baseline (6 open prompts, 32 tokens, greedy, chat template).
editing: each capital the model gets wrong, corrected by ROME at the default layer: time (key statistics cached
once before), efficacy, paraphrases, neighbours (the other capitals' prompts) and unrelated prompts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_real_editing import PROMPTS  # the prompts the test compares with transformers


def generation(model) -> None:
    from transformers import AutoModelForCausalLM

    from interp.core.files import cache_root
    from interp.generation import generate
    from interp.steering import concept, diffmean_vector, steer_hooks

    (folder,) = [p for p in (cache_root() / "gguf").iterdir() if p.is_dir()]
    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ours = generate(model, PROMPTS, max_new_tokens=32)
    same = 0
    for ids, new in zip(ours.prompt_tokens, ours.new_tokens):
        with torch.no_grad():
            ref = hf.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False, pad_token_id=2)
        same += ref[0, len(ids) :].tolist() == list(new)
    print(f"greedy, 8 prompts x 32 new tokens: {same} of 8 equal to transformers token for token")

    c = concept("weddings")
    steer = steer_hooks(model, diffmean_vector(model, c.positive, c.negative, layer=8), 0.25)
    rows = [list(r) for r in ours.prompt_tokens]
    width = max(map(len, rows))
    padded = torch.tensor([[2] * (width - len(r)) + r for r in rows])
    mask = (torch.arange(width)[None] >= torch.tensor([width - len(r) for r in rows])[:, None]).long()

    def hf_run() -> int:
        with torch.no_grad():
            out = hf.generate(padded, attention_mask=mask, max_new_tokens=64, min_new_tokens=64, do_sample=False,
                              pad_token_id=2)  # fmt: skip
        return (out.shape[1] - width) * len(rows)

    runs = {
        "transformers generate": hf_run,
        "ours, plain": lambda: sum(map(len, generate(model, PROMPTS, max_new_tokens=64).new_tokens)),
        "ours, steered": lambda: sum(
            map(len, generate(model, PROMPTS, max_new_tokens=64, interventions=steer).new_tokens)
        ),
        "ours, no KV cache": lambda: sum(
            map(len, generate(model, PROMPTS, max_new_tokens=64, kv_cache=False).new_tokens)
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    tokens: dict[str, int] = {}
    for _ in range(3):
        for name, run in runs.items():
            start = time.perf_counter()
            tokens[name] = run()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["ours, plain"])
    print("batch 8 x 64 new tokens (median of 3):")
    for name in runs:
        t = statistics.median(times[name])
        print(f"  {name:<24} {t:6.2f} s  {tokens[name] / t:6.1f} tokens/s  {t / base:5.2f} x ours plain")


def steering(model) -> None:
    from interp.steering import concept, concept_names, diffmean_vector, evaluate_steering

    for name in concept_names():
        c = concept(name)
        for layer in (4, 8, 12):
            vec = diffmean_vector(model, c.positive, c.negative, layer=layer)
            result = evaluate_steering(model, vec, concept_name=name, strengths=(0.1, 0.15, 0.2, 0.25, 0.3, 0.4))
            none = result.row("none").perplexity
            print(f"{name}, layer {layer} ({result.seconds:.0f} s): concept score / perplexity (x none's) / repetition")
            for r in result.rows:
                print(f"  {r.label:<10} {r.concept_score:5.2f}  {r.perplexity:7.2f} ({r.perplexity / none:4.2f}x)  "
                      f"{r.repetition:4.2f}   {r.samples[0][:70]!r}")  # fmt: skip


def editing(model) -> None:
    from interp.editing import (
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
    for fact in wrong:
        start = time.perf_counter()
        edit = edit_facts(model, [fact])
        seconds = time.perf_counter() - start
        result = evaluate_edit(model, edit, [fact], neighbours=neighbours(fact, facts))
        print(f"  {fact.subject + ' -> ' + fact.target:<34} {seconds:6.1f}  {result.efficacy:8.2f}  "
              f"{result.generalisation:11.2f}  {result.specificity:11.2f}  {result.fluency_before:.2f} / "
              f"{result.fluency_after:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("generation", "steering", "editing"))
    args = parser.parse_args()
    from interp.loading.model import load_model

    torch.set_grad_enabled(True)
    model = load_model("zoo:smollm2-135m", device="cpu")
    for name, run in (("generation", generation), ("editing", editing), ("steering", steering)):
        if args.only in (None, name):
            print(f"== {name}")
            run(model)


if __name__ == "__main__":
    main()
