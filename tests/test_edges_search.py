"""Circuit searches that run the model with edges ablated: the differentiable ablated run and circuits from
learned edge masks, checked against EAP, the known-circuit zoo models and issue 15's target on zoo:lang-4l IOI."""

import pytest
import torch

from interp.edges import AblationRunner, edge_scores, learned_circuit, prune
from interp.tasks.generators import induction_task, make_task
from tests.tolerances import PER_LAYER, f32_tol, logit_scale


@pytest.mark.parametrize("which", ["lang_model", "llama_model"])
def test_soft_mask_is_the_ablated_run_and_its_gradient_is_eap(request, which):
    # With the edges kept in part the run is differentiable in each edge's weight k: a reader's input is
    # x - (1 - k)(a[u] - a_corrupted[u]), so d metric / d k at k = 1 is (a_clean[u] - a_corrupted[u]) . dm / dx_v,
    # minus EAP's noise-direction score. Two implementations that share no code path for the gradient.
    model = request.getfixturevalue(which)
    task = (
        induction_task(model, n_prompts=4, seq_len=5)
        if which == "llama_model"
        else make_task("ioi", model, n_prompts=8)
    )
    runner = AblationRunner(model, task, "corrupted", "logit_diff")
    n = runner.graph.n_edges
    full, empty = runner.ends()
    # the soft run's edge-by-edge sums against plain and hard-masked runs: rounding of the logits' size per layer
    tol = f32_tol(logit_scale(model, task.clean_tokens), PER_LAYER * model.cfg.n_layers)
    keep = torch.ones(n, requires_grad=True)
    value = runner.metric_soft(keep)
    assert value.item() == pytest.approx(full, abs=tol)
    (grad,) = torch.autograd.grad(value, [keep])
    eap = torch.tensor(edge_scores(model, task, method="eap", direction="noise").scores, dtype=grad.dtype)
    assert torch.allclose(grad, -eap, atol=1e-4 * float(eap.abs().max()))  # measured 2.6e-6 of 3.5 on lang-4l
    assert float(runner.metric_soft(torch.zeros(n))) == pytest.approx(empty, abs=tol)
    some = torch.rand(n, generator=torch.Generator().manual_seed(0)) < 0.5
    assert float(runner.metric_soft(some.float())) == pytest.approx(runner.metric_with(some), abs=tol)


@pytest.mark.parametrize(("name", "size"), [("kc-lookup", 3), ("kc-induction", 5)])
def test_learned_masks_find_the_known_circuits(name, size):
    from interp.loading.model import load_model
    from interp.zoo import ZOO, known_edges

    model = load_model(f"zoo:{name}", device="cpu")
    task = make_task(ZOO[name].defaults.task, model, n_prompts=16)
    circuit = learned_circuit(model, task, size, steps=60)  # measured: exact at 50 and at 100 steps
    assert set(circuit.edges) == set(known_edges(name))
    assert all(0 <= p <= 1 for p in circuit.scores) and "learned masks" in circuit.source


def test_learned_masks_keep_80_percent_of_ioi_with_5_percent_of_the_edges(lang_model):
    # Issue 15's target: on lang-4l IOI no ranking's top edges nor ACDC reach 0.8 within 5% of the 479 edges (0.70 and
    # 0.73 at 21 edges); learned masks do (measured 0.852 with 23 edges here; 0.833 and 0.894 on prompt seeds 1, 2).
    task = make_task("ioi", lang_model, n_prompts=16, seed=0)
    circuit = learned_circuit(lang_model, task, 23)
    runner = AblationRunner(lang_model, task, "corrupted", "logit_diff")
    assert len(circuit.edges) <= 0.05 * runner.graph.n_edges
    keep = torch.zeros(runner.graph.n_edges, dtype=torch.bool)
    keep[runner.graph.edge_indices(circuit.edges)] = True
    assert torch.equal(prune(runner.graph, keep), keep)  # every edge is on a path to the logits
    assert runner.faithfulness(runner.metric_of(circuit)) >= 0.8


def test_bad_learned_circuit_inputs(lang_model):
    task = make_task("ioi", lang_model, n_prompts=2)
    with pytest.raises(ValueError, match="n_edges"):
        learned_circuit(lang_model, task, 0)
    with pytest.raises(ValueError, match="graph has 479 edges"):
        learned_circuit(lang_model, task, 10_000)
    with pytest.raises(ValueError, match="steps"):
        learned_circuit(lang_model, task, 5, steps=0)
    with pytest.raises(ValueError, match="lr and penalty must be positive"):
        learned_circuit(lang_model, task, 5, lr=-0.1)
