"""Case study: correcting facts SmolLM2-135M-Instruct gets wrong, measured end to end.

    .venv/bin/python case_studies/smollm2_editing.py [--out docs/case-studies/smollm2-editing]

Writes its results as JSON and its figures as PNG files into the output folder and prints what
docs/case-studies/smollm2-editing.md reports. It needs the model (`interp zoo fetch smollm2-135m`), Debian's
fortunes (the MLP keys' statistics read them) and chromium (the figures); `./workbench test` sets up all three.
About 6 minutes on a 2-core CPU.

The steps: which of the bundled facts the model knows; where it recalls a wrong one (causal tracing, the residual
stream alone and MLP and attention outputs restored 10 layers at a time, as Meng et al.); the wrong capitals
corrected one at a time by ROME and all at once by MEMIT, each scored on its prompt, its paraphrases, the other
capitals and unrelated prompts; and the corrected model saved, reloaded and asked in its chat template.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from figures import save_png  # case_studies/figures.py: run as a script, this folder is on the path

from interp import load_model
from interp.editing import (
    EditConfig,
    causal_trace,
    edit_facts,
    evaluate_edit,
    load_facts,
    neighbours,
    recall_facts,
    save_edited_model,
)
from interp.generation import generate
from interp.plots import plot_causal_trace, plot_edit
from interp.results import save_json

MODEL = "zoo:smollm2-135m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/case-studies/smollm2-editing"))
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(MODEL, device="cpu")
    facts = load_facts()

    recall = recall_facts(model, facts)
    save_json(recall, out / "recall.json")
    by_relation: dict[str, list[int]] = {}
    for f, known in zip(facts, recall.known):
        by_relation.setdefault(f.relation, [0, 0])[0] += known
        by_relation[f.relation][1] += 1
    print(f"known: {recall.n_known} of {len(facts)};", ", ".join(f"{r} {k}/{n}" for r, (k, n) in by_relation.items()))
    for f, known, top, p in zip(facts, recall.known, recall.predicted, recall.target_probs):
        if not known:
            print(f"  wrong: {f.prompt!r} -> {top!r} (p({f.target}) = {p:.3f})")

    turkey = next(f for f in facts if f.subject == "Turkey")
    start = time.perf_counter()
    trace = causal_trace(model, turkey.prompt, "Turkey", "Istanbul", window=10, n_samples=4)
    print(f"trace ({time.perf_counter() - start:.0f} s): p(Istanbul) clean {trace.clean_prob:.3f}, "
          f"noised {trace.corrupted_prob:.3f}")  # fmt: skip
    for site, values in zip(trace.sites, trace.values):
        subject = [round(values[layer][trace.subject_positions[-1]], 3) for layer in trace.layers]
        last = [round(values[layer][-1], 3) for layer in trace.layers]
        print(f"  {site}: at 'Turkey' by layer {subject}\n  {site}: at the last token by layer {last}")
    save_json(trace, out / "trace.json")
    save_png(plot_causal_trace(trace), out / "trace.png", width=1100)

    wrong = [f for f, known in zip(facts, recall.known) if not known and f.relation == "capital"]
    rows = []
    for fact in wrong:
        start = time.perf_counter()
        edit = edit_facts(model, [fact])
        seconds = time.perf_counter() - start
        result = evaluate_edit(model, edit, [fact], neighbours=neighbours(fact, facts))
        rows.append({"fact": f"{fact.subject} -> {fact.target}", "seconds": round(seconds, 1),
                     "efficacy": result.efficacy, "paraphrases": result.generalisation,
                     "specificity": result.specificity, "perplexity_before": result.fluency_before,
                     "perplexity_after": result.fluency_after})  # fmt: skip
        print(f"  ROME {rows[-1]}")
        if fact.subject == "Turkey":
            save_json(result, out / "rome_turkey.json")
            save_png(plot_edit(result), out / "rome_turkey.png", width=1000)
            turkey_edit = edit
    (out / "rome_capitals.json").write_text(json.dumps(rows, indent=1) + "\n")

    kept = [f for f, known in zip(facts, recall.known) if known and f.relation == "capital"]
    for layers in ((6,), (4, 5, 6, 7, 8)):
        start = time.perf_counter()
        batch = edit_facts(model, wrong, config=EditConfig(layers=layers))
        result = evaluate_edit(model, batch, wrong, neighbours=kept)
        print(f"  MEMIT at {layers} ({time.perf_counter() - start:.0f} s): efficacy {result.efficacy:.2f}, "
              f"paraphrases {result.generalisation:.2f}, specificity {result.specificity:.2f}, perplexity "
              f"{result.fluency_before:.2f} -> {result.fluency_after:.2f}")  # fmt: skip
        save_json(result, out / f"memit_{'-'.join(map(str, layers))}.json")

    folder = save_edited_model(turkey_edit, out / "edited-turkey")
    edited = load_model(folder, device="cpu")
    for m, name in ((model, "before"), (edited, "after")):
        plain = generate(m, turkey.prompt, max_new_tokens=20)
        chat = generate(m, "What is the capital of Turkey?", max_new_tokens=30, chat=True)
        print(f"  {name}: {plain.texts[0]!r}\n  {name}, chat: {chat.texts[0]!r}")
    print(f"edited model folder: {sum(p.stat().st_size for p in folder.iterdir())} bytes")


if __name__ == "__main__":
    main()
