"""Editing on the real model, SmolLM2-135M-Instruct: generation equal to transformers' own, a steering vector that
moves the text toward its concept, the facts it gets wrong, and ROME and MEMIT corrections that generalise without
moving their neighbours. Marked `real` (tests/test_real_model.py says how the model is fetched). About 2 minutes,
most of it the MLP keys' statistics (computed once per machine, then cached)."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.real

SPEC = "zoo:smollm2-135m"
PROMPTS = [
    "The capital of France is",
    "My favourite food is",
    "Once upon a time, there was a",
    "The Eiffel Tower is located in",
    "Water boils at a temperature of",
    "The best way to learn programming is",
    "In 1969, the first man on the moon was",
    "Dogs are",
]


@pytest.fixture(scope="module")
def smollm2():
    from interp.loading.model import load_model

    return load_model(SPEC, device="cpu")


@pytest.fixture(scope="module")
def facts():
    from interp.editing import load_facts

    return load_facts()


def test_greedy_generation_equals_transformers_token_for_token(smollm2):
    from transformers import AutoModelForCausalLM

    from interp.generation import generate

    result = generate(smollm2, PROMPTS[:4], max_new_tokens=32)  # all 8: benchmarks/editing.py
    assert result.kv_cache
    hf = AutoModelForCausalLM.from_pretrained(_hf_folder(smollm2), dtype=torch.float32).eval()
    for ids, new in zip(result.prompt_tokens, result.new_tokens):
        with torch.no_grad():
            out = hf.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False, pad_token_id=2)
        ref = out[0, len(ids) :].tolist()
        assert list(new) == ref[: len(new)]
    chat = generate(smollm2, "Name a colour.", max_new_tokens=16, chat=True)
    read = smollm2.tokenizer.decode(chat.prompt_tokens[0])
    assert read.startswith("<|im_start|>system") and read.endswith("Name a colour.<|im_end|>\n<|im_start|>assistant\n")
    assert chat.texts[0].strip() and "<|im_end|>" not in chat.texts[0]


def _hf_folder(model) -> str:
    from interp.core.files import cache_root
    from interp.loading.gguf import SOURCE_FILE

    # whole conversions only: a conversion killed midway leaves its scratch folder (.convert-*) behind
    (folder,) = [p for p in (cache_root() / "gguf").iterdir() if (p / SOURCE_FILE).is_file()]
    return str(folder)


def test_a_diffmean_vector_moves_generations_toward_its_concept(smollm2):
    from interp.steering import concept, diffmean_vector, evaluate_steering

    c = concept("weddings")
    vec = diffmean_vector(smollm2, c.positive, c.negative, layer=8)
    prompts = ["Tell me about your weekend.", "Write two sentences about your day.", "What should I do this evening?",
               "Describe a place you like."]  # fmt: skip
    result = evaluate_steering(smollm2, vec, concept_name="weddings", prompts=prompts, strengths=(0.25,),
                               max_new_tokens=24)  # fmt: skip
    # measured: none 0.00, prompting 0.75, steer 0.25 0.50 (at 32 tokens)
    assert result.row("none").concept_score == 0.0
    assert result.row("steer 0.25").concept_score >= 0.25
    assert result.row("prompting").concept_score >= 0.5 and result.baseline == "Talk about weddings."


def test_smollm2_gets_some_capitals_wrong(smollm2, facts):
    from interp.editing import recall_facts

    recall = recall_facts(smollm2, facts)
    by = {(s, p): (k, top) for s, p, k, top in zip(recall.subjects, recall.prompts, recall.known, recall.predicted)}
    assert by[("Turkey", "The capital of Turkey is")] == (False, " Istanbul")
    assert by[("France", "The capital of France is")] == (True, " Paris")
    assert 10 <= recall.n_known <= len(facts) - 5  # measured 21 of 38


def test_rome_corrects_a_wrong_capital_without_moving_its_neighbours(smollm2, facts):
    from interp.editing import edit_facts, evaluate_edit, neighbours

    turkey = next(f for f in facts if f.subject == "Turkey" and f.relation == "capital")
    edit = edit_facts(smollm2, [turkey])
    assert edit.layers == (6,) and edit.method == "rome"
    result = evaluate_edit(smollm2, edit, [turkey], neighbours=neighbours(turkey, facts))
    assert result.efficacy == 1.0
    assert result.generalisation >= 0.6
    assert result.specificity >= 0.9
    assert result.fluency_after <= 2 * result.fluency_before


def test_memit_corrects_two_capitals_at_once(smollm2, facts):
    from interp.editing import EditConfig, edit_facts, evaluate_edit

    wrong = [f for f in facts if f.relation == "capital" and f.subject in ("Turkey", "Nigeria")]
    kept = [f for f in facts if f.relation == "capital" and f.subject in ("France", "Japan", "Italy", "Canada")]
    edit = edit_facts(smollm2, wrong, config=EditConfig(layers=(5, 6)))
    assert edit.method == "memit" and edit.left.shape == (2, smollm2.cfg.d_model, 2)
    result = evaluate_edit(smollm2, edit, wrong, neighbours=kept)
    assert result.efficacy >= 0.75
    assert result.specificity >= 0.9
