"""Interventions as values: what each one does to an activation, how it prints and compares, and that the
results which used them record them."""

import pytest
import torch

from interp.core.hooks import hooks
from interp.core.interventions import AddDirection, MeanAblate, ProjectOut, SetHeads, SetSlice, Zero
from interp.core.sites import hook_name
from tests.tolerances import f32_tol


def _act(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_each_intervention_changes_what_it_names_and_nothing_else():
    act, source = _act(3, 5, 4, 2), _act(3, 5, 4, 2, seed=1)
    out = SetSlice(source, (2, 1))(act)  # position 2, head 1
    assert torch.equal(out[:, 2, 1], source[:, 2, 1])
    keep = torch.ones(5, 4, dtype=torch.bool)
    keep[2, 1] = False
    assert torch.equal(out[:, keep], act[:, keep])

    mean = act.mean(0, keepdim=True)
    out = SetHeads(mean, (0, 3))(act)  # a batch-1 source is broadcast over the batch
    assert torch.equal(out[:, :, [0, 3]], mean[:, :, [0, 3]].expand(3, -1, -1, -1))
    assert torch.equal(out[:, :, [1, 2]], act[:, :, [1, 2]])
    assert torch.equal(MeanAblate(mean, (0, 3))(act), out)
    assert torch.equal(MeanAblate(mean)(act), mean.expand_as(act))
    assert torch.equal(Zero()(act), torch.zeros_like(act))
    assert torch.equal(act, _act(3, 5, 4, 2))  # the input is never written in place


def test_direction_edits_are_exact():
    act, direction = _act(2, 4, 8), _act(8, seed=2)
    where = torch.zeros(2, 4, dtype=torch.bool)
    where[:, 1] = True
    out = ProjectOut(direction[None], where)(act)
    # zero up to float32 rounding of dot products of 8 terms: 8 eps of |act| |direction| (measured <= 2 eps)
    tol = f32_tol(act[:, 1].norm(dim=-1).max() * direction.norm(), depth=8)
    assert (out[:, 1] @ direction).abs().max() < tol and torch.equal(out[:, [0, 2, 3]], act[:, [0, 2, 3]])
    out = AddDirection(direction, 3.0, where)(act)
    torch.testing.assert_close(out[:, 1] - act[:, 1], (3.0 * direction / direction.norm()).expand(2, 8))
    with pytest.raises(ValueError, match=r"needs a \[batch, pos, d_model\] activation"):
        ProjectOut(direction[None], where)(_act(2, 4, 2, 4))


def test_interventions_print_their_meaning_and_compare_by_value():
    source = torch.zeros(16, 15, 4, 32)
    edit = SetHeads(source, (0, 3))
    assert repr(edit) == "SetHeads(source=Tensor[16, 15, 4, 32] float32, heads=(0, 3))"
    assert repr(SetSlice(source, (slice(None), 2))) == "SetSlice(source=Tensor[16, 15, 4, 32] float32, index=(:, 2))"
    assert repr(MeanAblate(source[:1])) == "MeanAblate(mean=Tensor[1, 15, 4, 32] float32, heads=None)"
    assert edit == SetHeads(source.clone(), (0, 3))  # equal values, not the same tensor
    assert (
        edit != SetHeads(source + 1, (0, 3)) and edit != SetHeads(source, (0,)) and edit != MeanAblate(source, (0, 3))
    )
    assert (
        repr(ProjectOut(torch.ones(1, 8), torch.ones(2, 4, dtype=torch.bool)))
        == "ProjectOut(directions=Tensor[1, 8] float32, positions=Tensor[2, 4] bool)"
    )


def test_a_hook_runs_an_intervention(induction_model):
    tokens = torch.randint(3, 256, (2, 6), generator=torch.Generator().manual_seed(0))
    name = hook_name("z", 1)
    with hooks(induction_model, [(name, Zero())]):
        zeroed = induction_model(tokens)
    with hooks(induction_model, [(name, lambda act, hook=None: torch.zeros_like(act))]):
        by_hand = induction_model(tokens)
    torch.testing.assert_close(zeroed, by_hand, rtol=0, atol=0)  # exact: the same zeros through the same kernels
    assert not torch.allclose(zeroed, induction_model(tokens))


def test_results_record_the_interventions_they_used(induction_model):
    from interp.circuits.components import faithfulness, make_circuit
    from interp.patching.activation import patch
    from interp.tasks.generators import induction_task

    task = induction_task(induction_model, n_prompts=4, seq_len=5)
    result = patch(induction_model, task, site="z")
    assert (
        result.intervention == "SetSlice(source=clean run, index=(:, head)) at blocks.L.attn.hook_z, per layer x head"
    )
    circuit = make_circuit(["L1H0", "L1H1"], model=result.model, task=result.task)
    faith = faithfulness(induction_model, task, circuit)
    assert faith.interventions == (
        "blocks.0.attn.hook_z: MeanAblate(mean=Tensor[1, 10, 4, 16] float32, heads=(0, 1, 2, 3))",
        "blocks.1.attn.hook_z: MeanAblate(mean=Tensor[1, 10, 4, 16] float32, heads=(2, 3))",
    )
