"""DLA conserves the logit difference; the logit lens ends at the model's own logits."""

import json

import pytest
import torch

from interp.observe.dla import dla
from interp.observe.lens import logit_lens
from interp.tasks.generators import Task, induction_task, ioi_task
from tests import tiny_checkpoints
from tests.tolerances import PER_LAYER, f32_tol


def _conserved(result):
    parts = [*result.contributions, *result.other.values(), result.unembed_bias]
    # float32 parts (each a projection of d_model products), summed in float64 here, against the model's own
    # logit difference: a sum's rounding is relative to the sum of its terms' sizes, a few eps of each
    tol = f32_tol(sum(map(abs, parts)) + abs(result.logit_diff), depth=16)
    assert sum(parts) == pytest.approx(result.logit_diff, abs=tol), (result.granularity, sum(parts), result.logit_diff)


@pytest.mark.parametrize("granularity", ["component", "head", "neuron"])
def test_parts_sum_to_the_logit_difference(lang_model, induction_model, tmp_path, granularity):
    _conserved(dla(lang_model, ioi_task(lang_model, n_prompts=8), granularity=granularity))
    if granularity != "neuron":
        _conserved(dla(induction_model, induction_task(induction_model, n_prompts=8), granularity=granularity))
    from interp.loading.model import load_model

    tiny_checkpoints.build("gpt2", tmp_path)  # learned positions: pos_embed is its own part
    gpt2 = load_model(tmp_path, device="cpu")
    clean = torch.randint(3, 64, (4, 10), generator=torch.Generator().manual_seed(0))
    labels = (("x",) * 10,) * 4
    task = Task(
        "t",
        clean,
        clean.flip(-1),
        torch.tensor([3, 4, 5, 6]),
        torch.tensor([7, 8, 9, 10]),
        torch.full((4,), 9),
        labels,
        labels,
    )
    result = dla(gpt2, task, granularity=granularity)
    _conserved(result)
    if granularity == "component":
        assert result.labels[:2] == ("embed", "pos_embed")


def test_induction_dla_sits_on_the_named_heads(induction_model):
    from interp.zoo import ZOO

    named = {h for h, _ in json.loads((ZOO["induction-2l"].folder / "card.json").read_text())["heads"]["induction"]}
    result = dla(induction_model, induction_task(induction_model, n_prompts=16), granularity="head")
    assert {label for label, _ in result.top(len(named))} == named
    assert all(v > 0 for label, v in zip(result.labels, result.contributions) if label in named)


def test_logit_lens_ends_at_the_models_logits(lang_model):
    task = ioi_task(lang_model, n_prompts=8)
    lens = logit_lens(lang_model, task)
    logits = lang_model(task.clean_tokens)[torch.arange(8), task.metric_pos]
    answer = logits[torch.arange(8), task.answer_tokens]
    assert lens.layers == ("embed", "L0", "L1", "L2", "L3")
    # the final norm and unembedding applied to the cached residual: one layer's rounding of the logits' size
    tol = f32_tol(logits.abs().max(), PER_LAYER)
    assert lens.answer_logit[-1] == pytest.approx(float(answer.mean()), abs=tol)
    assert lens.answer_prob[-1] == pytest.approx(
        float(logits.softmax(-1)[torch.arange(8), task.answer_tokens].mean()), abs=tol
    )
    assert lens.answer_rank[-1] == 0.0 and lens.answer_rank[0] > 10  # solved only at the end
    assert len(lens.top_tokens[-1]) == 5


def test_bad_inputs(induction_model, lang_model):
    task = induction_task(induction_model, n_prompts=2)
    with pytest.raises(ValueError, match="attention-only"):
        dla(induction_model, task, granularity="neuron")
    with pytest.raises(ValueError, match="granularity"):
        dla(induction_model, task, granularity="layer")
    mixed = Task(
        task.name,
        task.clean_tokens,
        task.corrupted_tokens,
        task.answer_tokens,
        task.wrong_tokens,
        torch.tensor([5, 9]),
        task.str_tokens,
        task.corrupted_str_tokens,
    )
    with pytest.raises(ValueError, match="one position"):
        dla(induction_model, mixed)


def _llama_task(model, n_prompts=4):
    return induction_task(model, n_prompts=n_prompts, seq_len=6)


@pytest.mark.parametrize("granularity", ["component", "head", "neuron"])
def test_llama_parts_sum_to_the_logit_difference(llama_model, granularity):
    # RMSNorm (scale from the clean run, weight folded into W_U), a gated MLP, grouped-query attention and no
    # biases anywhere: model.b_O and model.b_out raise on this bridge; DLA reads them as absent.
    result = dla(llama_model, _llama_task(llama_model), granularity=granularity)
    assert max(map(abs, result.contributions)) > 0.1  # parts of order 0.1-1: conservation is no sum of near-zeros
    _conserved(result)
    assert not any("b_O" in k or "b_out" in k for k in result.other)  # no bias terms for biases the model lacks
    assert result.unembed_bias == 0.0
    n = {"component": 5, "head": 2 * 4, "neuron": 2 * 64}[granularity]
    assert len(result.labels) == len(result.contributions) == n


def test_llama_head_dla_is_each_heads_write_through_the_final_norm(llama_model):
    # Independent of TransformerLens's stacking: head h of layer L writes z[h] @ W_O[L, h]; through the clean
    # run's RMS scale and the answer direction. Query heads that share a key/value head still write apart.
    from interp.core.hooks import run_with_cache
    from interp.core.metrics import answer_direction

    task = _llama_task(llama_model)
    result = dla(llama_model, task, granularity="head")
    pos = int(task.metric_pos[0])
    names = [f"blocks.{layer}.attn.hook_z" for layer in range(2)] + ["ln_final.hook_scale"]
    _, cache = run_with_cache(llama_model, task.clean_tokens, names)
    direction = answer_direction(llama_model, task).detach()
    scale = cache["ln_final.hook_scale"][:, pos]  # batch 1
    for layer in range(2):
        for h in range(4):
            write = cache[names[layer]][:, pos, h] @ llama_model.W_O[layer, h].detach() / scale
            expected = float((write * direction).sum(-1).mean())
            got = result.contributions[result.labels.index(f"L{layer}H{h}")]
            # the same products in another order (TL's stacked matmuls, then a d_model sum): a few eps of the
            # dot product's terms, at most |write| |direction|
            size = float((write.norm(dim=-1) * direction.norm(dim=-1)).mean())
            assert got == pytest.approx(expected, abs=f32_tol(size, depth=16))


def test_llama_logit_lens_ends_at_the_models_logits(llama_model):
    task = _llama_task(llama_model)
    lens = logit_lens(llama_model, task)
    with torch.no_grad():
        logits = llama_model(task.clean_tokens)[torch.arange(4), task.metric_pos]
    answer = logits[torch.arange(4), task.answer_tokens]
    assert lens.layers == ("embed", "L0", "L1")
    tol = f32_tol(logits.abs().max(), PER_LAYER)  # as for lang-4l: one layer's rounding of the logits' size
    assert lens.answer_logit[-1] == pytest.approx(float(answer.mean()), abs=tol)
    assert lens.answer_prob[-1] == pytest.approx(
        float(logits.softmax(-1)[torch.arange(4), task.answer_tokens].mean()), abs=tol
    )


def test_missing_biases_read_as_zeros(llama_model, lang_model):
    from interp.core.biases import has_bias, stacked_bias

    with pytest.raises(TypeError, match="NoneType"):
        llama_model.b_O  # noqa: B018  (TransformerLens 3.9 stacks each block's None: why core.biases exists)
    shapes = {"b_Q": (2, 4, 8), "b_K": (2, 2, 8), "b_V": (2, 2, 8), "b_O": (2, 32), "b_in": (2, 64), "b_out": (2, 32)}
    for name, shape in shapes.items():
        bias = stacked_bias(llama_model, name)
        assert not has_bias(llama_model, name) and bias.shape == shape and not bias.any(), name
    for name in shapes:
        assert has_bias(lang_model, name) and torch.equal(stacked_bias(lang_model, name), getattr(lang_model, name))
