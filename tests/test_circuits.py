"""Circuits from head patching, and their faithfulness under mean ablation."""

import json

import pytest

from interp.circuits.components import circuit_from_result, faithfulness
from interp.patching.activation import patch
from interp.results import save_json
from interp.tasks.generators import induction_task, ioi_task
from tests.tolerances import PER_LAYER, f32_tol, logit_scale


def test_ioi_circuit_on_the_language_model(lang_model):
    task = ioi_task(lang_model, n_prompts=64)
    heads = patch(lang_model, task, site="z")
    circuit = circuit_from_result(heads, top_k=4, n_mlp_layers=4)  # a quarter of the 16 heads
    assert len(circuit.heads()) == 4 and {f"MLP{i}" for i in range(4)} <= set(circuit.nodes)
    result = faithfulness(lang_model, task, circuit)
    # the target: >= 80% of the logit difference with at most a quarter of the heads
    assert result.faithfulness >= 0.8, result
    assert abs(result.ablated_metric) < 0.2 * result.full_metric  # ablating everything does destroy it
    assert ("L0H0", "logits") in circuit.edges and all(a != "logits" for a, _ in circuit.edges)


def test_induction_circuit_needs_the_previous_token_heads(induction_model):
    from interp.circuits.components import make_circuit
    from interp.zoo import ZOO

    card = json.loads((ZOO["induction-2l"].folder / "card.json").read_text())["heads"]
    task = induction_task(induction_model, n_prompts=32)
    circuit = circuit_from_result(patch(induction_model, task, site="z"), threshold=0.1)
    assert {h for h, _ in card["induction"]} <= set(circuit.heads())
    # Patching finds the induction heads, but mean-ablating the previous-token heads (whose output
    # is the same in the clean and corrupted runs, so patching gives them ~0) breaks induction:
    assert faithfulness(induction_model, task, circuit).faithfulness < 0.2
    # adding the card's two strongest previous-token heads restores it (measured 0.91 with 7 of 8 heads)
    fixed = make_circuit(
        [*circuit.heads(), *(h for h, _ in card["previous_token"][:2])], model=circuit.model, task=circuit.task
    )
    assert faithfulness(induction_model, task, fixed).faithfulness >= 0.8


def test_empty_and_full_circuits(induction_model, tmp_path):
    task = induction_task(induction_model, n_prompts=8)
    heads = patch(induction_model, task, site="z")
    full = circuit_from_result(heads, top_k=8)
    result = faithfulness(induction_model, task, full)
    # nothing ablated: 1 up to rounding of the logits' size in each layer, divided by the full-ablated gap
    gap = abs(result.full_metric - result.ablated_metric)
    tol = f32_tol(logit_scale(induction_model, task.clean_tokens) / gap, PER_LAYER * induction_model.cfg.n_layers)
    assert result.faithfulness == pytest.approx(1.0, abs=tol)
    saved = json.loads(save_json(full, tmp_path / "c.json").read_text())
    assert len(saved["nodes"]) == 8 and ["L1H0", "logits"] in saved["edges"]
    with pytest.raises(ValueError, match="exactly one"):
        circuit_from_result(heads)
    with pytest.raises(ValueError, match="layer x head"):
        circuit_from_result(patch(induction_model, task, site="resid_pre"), top_k=2)


def test_llama_circuits_and_faithfulness(llama_model):
    # Mean ablation sets query heads' outputs (hook_z, one slice per query head even under grouped-query
    # attention) and MLP outputs: the full circuit changes nothing, the empty one is the ablated floor.
    from interp.circuits.components import head_circuit, make_circuit

    task = induction_task(llama_model, n_prompts=4, seq_len=6)
    heads = patch(llama_model, task, site="z")
    full = circuit_from_result(heads, top_k=8, n_mlp_layers=2)
    result = faithfulness(llama_model, task, full)
    # as in test_empty_and_full_circuits: rounding of the logits' size in each layer (over the gap, normalised)
    scale, depth = logit_scale(llama_model, task.clean_tokens), PER_LAYER * llama_model.cfg.n_layers
    gap = abs(result.full_metric - result.ablated_metric)
    assert result.faithfulness == pytest.approx(1.0, abs=f32_tol(scale / gap, depth)) and result.interventions == ()
    assert result.n_heads == result.n_heads_total == 8
    empty = faithfulness(llama_model, task, make_circuit([], model=full.model, task=full.task))
    assert empty.circuit_metric == pytest.approx(empty.ablated_metric, abs=f32_tol(scale, depth))
    assert abs(empty.circuit_metric - empty.full_metric) > 0.05  # the ablations do something here
    found = head_circuit(llama_model, task, top_k=2)
    assert len(found.circuit.heads()) == 2 and {"MLP0", "MLP1"} <= set(found.circuit.nodes)
    # k and v patches are key/value heads, each shared by two query heads: no query head to put in a circuit
    with pytest.raises(ValueError, match="key/value heads"):
        circuit_from_result(patch(llama_model, task, site="k"), top_k=1)
