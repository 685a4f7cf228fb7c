"""Knowledge editing: the closed forms against direct least-squares solves, facts and their files, causal tracing by
its definition, edits as values that leave the model unchanged, and edited-model folders that load and never
overwrite their base."""

from __future__ import annotations

import json

import pytest
import torch

from interp.core.weight_edits import low_rank_added, mlp_out_weight
from interp.editing import (
    FACTS_FILE,
    EditConfig,
    Fact,
    answer_ids,
    causal_trace,
    edit_facts,
    evaluate_edit,
    load_facts,
    memit_update,
    neighbours,
    recall_facts,
    rome_update,
    save_edited_model,
    subject_positions,
)
from interp.loading.model import load_model

FACT = Fact("Mary", "Mary lives near the", "school")


def _keys(n: int, d: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=torch.float64) @ torch.randn(d, d, generator=gen, dtype=torch.float64)


def test_rome_is_the_least_change_that_writes_the_new_value():
    """min ||dW K||^2 subject to dW k = delta (C = K^T K / n): solved directly as a least-squares problem with the
    constraint weighted 1e8 times, in float64; the closed form must agree."""
    d_mlp, d_model, n = 12, 5, 200
    keys = _keys(n, d_mlp, 0)
    c = keys.T @ keys / n
    k, delta = (
        _keys(1, d_mlp, 1)[0],
        torch.randn(d_model, dtype=torch.float64, generator=torch.Generator().manual_seed(2)),
    )
    left, right = rome_update(c, k, delta)
    dw = left @ right  # [d_model, d_mlp]
    torch.testing.assert_close(dw @ k, delta, rtol=1e-10, atol=1e-10)
    weight = 1e4
    system = torch.cat([keys / n**0.5, weight * k[None]])  # rows: the old keys (scaled as C), the new key
    target = torch.cat([torch.zeros(n, d_model, dtype=torch.float64), weight * delta[None]])
    direct = torch.linalg.lstsq(system, target).solution.T
    # the penalty solution approaches the constrained one as 1/weight^2 (1e-8 of the change's size here)
    torch.testing.assert_close(dw, direct, rtol=1e-6, atol=1e-6 * float(dw.abs().max()))


def test_memit_is_the_least_squares_trade_between_old_and_new_keys():
    d_mlp, d_model, n_old, n_new, lam = 10, 4, 300, 3, 7.0
    old, new = _keys(n_old, d_mlp, 3), _keys(n_new, d_mlp, 4)
    c = old.T @ old / n_old
    gaps = torch.randn(n_new, d_model, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    left, right = memit_update(c, new, gaps, lam)
    # min lam * ||dW old^T||^2 / n_old + ||dW new^T - gaps^T||^2, as one stacked least-squares problem
    system = torch.cat([(lam / n_old) ** 0.5 * old, new])
    target = torch.cat([torch.zeros(n_old, d_model, dtype=torch.float64), gaps])
    direct = torch.linalg.lstsq(system, target).solution.T
    torch.testing.assert_close(left @ right, direct, rtol=1e-9, atol=1e-9)


def test_the_bundled_facts_read_and_bad_rows_are_named(tmp_path):
    facts = load_facts()
    assert len(facts) >= 30 and all(f.source and f.paraphrases for f in facts)
    turkey = next(f for f in facts if f.subject == "Turkey")
    assert {n.subject for n in neighbours(turkey, facts)} and all(
        n.relation == "capital" for n in neighbours(turkey, facts)
    )
    bad = tmp_path / "facts.jsonl"
    for text, message in (
        ('{"subject": "A", "prompt": "A is", "target": "b"}\nnot json', "line 2"),
        ('{"subject": "A", "prompt": "A is"}', "line 1: it lacks target"),
        ('{"subject": "Z", "prompt": "A is", "target": "b"}', "the subject 'Z' is not in the prompt"),
        ('{"subject": "A", "prompt": "A is", "target": "b", "paraphrases": "A was"}', "paraphrases must be a list"),
        ('["A", "A is", "b"]', "not a JSON object"),
        ("", "holds no facts"),
    ):
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            load_facts(bad)
    with pytest.raises(ValueError, match="no fact file"):
        load_facts(tmp_path / "none.jsonl")
    assert json.loads(FACTS_FILE.read_text().splitlines()[0])["source"]


def test_subjects_and_targets_are_found_or_refused(lang_model):
    assert subject_positions(lang_model, "When Mary and John went", "John") == (4,)  # BOS, When, Mary, and, John
    with pytest.raises(ValueError, match="the subject 'Anna' is not in the prompt"):
        subject_positions(lang_model, "When Mary and John went", "Anna")
    assert lang_model.tokenizer.decode(answer_ids(lang_model, FACT.prompt, "school")).strip() == "school"
    with pytest.raises(ValueError, match="does not know 'Zorblax'"):
        answer_ids(lang_model, FACT.prompt, "Zorblax")


def test_restoring_the_last_residual_at_the_last_position_gives_the_clean_probability(lang_model):
    trace = causal_trace(lang_model, "When Mary and John went to the store , John gave a drink to", "John", "Mary",
                         n_samples=2)  # fmt: skip
    resid = trace.sites.index("resid_post")
    n_layers, n_pos = len(trace.layers), len(trace.tokens)
    assert (len(trace.values), len(trace.values[0]), len(trace.values[0][0])) == (3, n_layers, n_pos)
    # the last residual at the last position is all the logits read: restoring it restores the answer exactly
    assert trace.values[resid][-1][-1] == pytest.approx(trace.clean_prob, rel=1e-5)
    # restoring a position before the subject restores nothing the noise took
    assert trace.values[resid][-1][1] == pytest.approx(trace.corrupted_prob, rel=1e-5)
    assert trace.subject_positions == (4,) and trace.tokens[4].strip() == "John"  # the subject's first occurrence


def test_an_edit_is_a_value_that_teaches_the_fact_and_leaves_the_model_as_it_was(lang_model):
    before = mlp_out_weight(lang_model, 0).detach().clone()
    assert not recall_facts(lang_model, [FACT]).known[0]
    edit = edit_facts(lang_model, [FACT])
    assert edit.method == "rome" and edit.layers == (0,) and edit.left.shape == (1, lang_model.cfg.d_model, 1)
    assert torch.equal(mlp_out_weight(lang_model, 0), before)
    result = evaluate_edit(lang_model, edit, [FACT], neighbours=[Fact("John", "John lives near the", "park")])
    assert result.efficacy == 1.0 and result.specificity == 1.0
    assert torch.equal(mlp_out_weight(lang_model, 0), before)  # evaluation put the weights back bit for bit
    with low_rank_added(lang_model, edit.layers, edit.left, edit.right):
        assert recall_facts(lang_model, [FACT]).known[0]
    assert "rome edit of zoo:lang-4l" in str(edit) and "Mary lives near the -> school" in str(edit)


def test_memit_writes_a_batch_in_one_update(lang_model):
    """(Spread over several layers on SmolLM2 in test_real_editing.py: on lang-4l only MLP 0 reaches the answer.)"""
    facts = [FACT, Fact("Tom", "Tom lives near the", "museum")]
    # MEMIT's lambda (15,000 for GPT-J; SmolLM2 took 4 facts at it) keeps lang-4l's MLP 0 from moving: measured, both
    # answers stayed 'station' at 15,000 and 1,000, and became top-1 at 100 (p 0.88, 0.99) and below
    edit = edit_facts(lang_model, facts, config=EditConfig(layers=(0,), preserve=100.0))
    assert edit.method == "memit" and edit.left.shape == (1, lang_model.cfg.d_model, 2)
    with low_rank_added(lang_model, edit.layers, edit.left, edit.right):
        assert recall_facts(lang_model, facts).known == (True, True)


def test_an_edited_folder_loads_as_the_base_plus_the_edit_and_never_overwrites(lang_model, tmp_path):
    edit = edit_facts(lang_model, [FACT])
    folder = save_edited_model(edit, tmp_path / "edited")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "edit.json", "edit.safetensors"]
    edited = load_model(folder, device="cpu")
    tokens = torch.tensor([[lang_model.tokenizer.bos_token_id, *answer_ids(lang_model, "", FACT.prompt)]])
    with torch.no_grad(), low_rank_added(lang_model, edit.layers, edit.left, edit.right):
        expected = lang_model(tokens)
    with torch.no_grad():
        torch.testing.assert_close(edited(tokens), expected)
    assert recall_facts(edited, [FACT]).known[0] and "edited" in edited.cfg.weights_source
    with pytest.raises(ValueError, match="already holds a model"):
        save_edited_model(edit, folder)
    from interp.zoo import ZOO

    with pytest.raises(ValueError, match="the zoo model's own folder"):
        save_edited_model(edit, ZOO["lang-4l"].folder)
    with pytest.raises(ValueError, match="the edit was made on zoo:lang-4l"):
        evaluate_edit(edited, edit, [FACT])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (lambda: EditConfig(layers=(2, 1)), "distinct layers"),
        (lambda: EditConfig(steps=0), "steps must be 1 or more"),
        (lambda: EditConfig(prefixes=()), "at least one prefix"),
    ],
)
def test_bad_edit_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        config()


def test_edits_refuse_models_and_layers_without_an_mlp(lang_model, induction_model):
    with pytest.raises(ValueError, match="layer 9 does not exist"):
        edit_facts(lang_model, [FACT], config=EditConfig(layers=(9,)))
    with pytest.raises(ValueError, match="attention-only"):
        edit_facts(induction_model, [FACT])
    with pytest.raises(ValueError, match="no facts"):
        edit_facts(lang_model, [])


@pytest.mark.parametrize("kind", ["gpt2", "neox", "llama"])
def test_a_low_rank_change_moves_the_mlp_output_by_its_product_with_the_key(kind, tmp_path):
    """On each family's tiny checkpoint (GPT-2's MLP projects through a transposed Conv1D): with W_out += A B, the
    MLP's output at every position moves by A B k, k its key; the weights come back bit for bit."""
    from interp.core.hooks import run_with_cache
    from interp.core.weight_edits import add_low_rank, mlp_key_hook
    from tests import tiny_checkpoints

    tiny_checkpoints.build(kind, tmp_path / kind)
    model = load_model(tmp_path / kind, device="cpu")
    gen = torch.Generator().manual_seed(0)
    left = torch.randn(1, model.cfg.d_model, 2, generator=gen)
    right = torch.randn(1, 2, model.cfg.d_mlp, generator=gen)
    tokens = torch.tensor([[1, 5, 9, 12, 7]])
    names = [mlp_key_hook(model, 1), "blocks.1.hook_mlp_out"]
    _, before = run_with_cache(model, tokens, names)
    kept = mlp_out_weight(model, 1).detach().clone()
    with low_rank_added(model, [1], left, right):
        _, after = run_with_cache(model, tokens, names)
    moved = after[names[1]] - before[names[1]]
    expected = before[names[0]] @ (left[0] @ right[0]).T
    torch.testing.assert_close(moved, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    assert torch.equal(mlp_out_weight(model, 1), kept)
    with pytest.raises(ValueError, match="2 layers for 1 left and 1 right factors"):
        add_low_rank(model, [1, 2], left, right)
