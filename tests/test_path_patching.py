"""Path patching: known paths of the induction model, and bad input."""

import pytest

from interp.patching.path import path_patch
from interp.tasks.generators import induction_task
from tests.tolerances import PER_LAYER, assert_f32_close, logit_scale

INDUCTION_HEADS = ["L1H0", "L1H1", "L1H2", "L1H3"]


def test_the_changed_token_reaches_the_induction_heads_through_their_values(induction_model):
    # Clean and corrupted differ in the token the induction heads copy. Its identity reaches them
    # through the values at its position (written there by layer-0 heads); the query at the final
    # position never sees it.
    task = induction_task(induction_model, n_prompts=16)
    via_v = path_patch(induction_model, task, receivers=INDUCTION_HEADS, receiver_input="v")
    via_q = path_patch(induction_model, task, receivers=INDUCTION_HEADS, receiver_input="q")
    assert via_v.axes == ("layer", "head") and via_v.labels["layer"] == ("0",)
    drop_v = [1 - v for v in via_v.normalized[0]]
    drop_q = [1 - v for v in via_q.normalized[0]]
    assert max(drop_v) > 0.2  # measured 0.30 for L0H2
    assert max(abs(d) for d in drop_q) < 0.02
    assert max(drop_v) > 10 * max(abs(d) for d in drop_q)


def test_bad_receivers(induction_model):
    task = induction_task(induction_model, n_prompts=2)
    with pytest.raises(ValueError, match="after layer 0"):
        path_patch(induction_model, task, receivers=["L0H1"])
    with pytest.raises(ValueError, match="does not exist"):
        path_patch(induction_model, task, receivers=["L5H1"])
    with pytest.raises(ValueError, match="like L1H3"):
        path_patch(induction_model, task, receivers=["head three"])
    with pytest.raises(ValueError, match="receiver_input"):
        path_patch(induction_model, task, receivers=["L1H1"], receiver_input="o")


@pytest.fixture(scope="module")
def deep_llama(tmp_path_factory):
    """A 3-layer tiny GQA Llama and its twin with a key/value head per query head: receivers in two layers."""
    from interp.loading.model import load_model
    from tests.tiny_llama import build_llama, build_mha_twin

    gqa, mha = tmp_path_factory.mktemp("llama3"), tmp_path_factory.mktemp("llama3_twin")
    build_mha_twin(build_llama(gqa, n_layers=3), mha)
    return load_model(gqa, device="cpu"), load_model(mha, device="cpu")


@pytest.mark.parametrize("receiver_input", ["q", "k", "v"])
def test_gqa_receivers_equal_their_multi_head_twin(deep_llama, receiver_input):
    # Under grouped-query attention L1H3 shares its keys and values with L1H2, and no hook holds L1H3's own
    # copy. Path patching still ends in L1H3 alone: it must equal the twin model (the same function, with a
    # key/value head per query head), where the receiver's own k or v is patched directly. Receivers in two
    # layers check that the later layer's receivers see the earlier ones' change.
    import torch

    gqa, mha = deep_llama
    task = induction_task(gqa, n_prompts=3, seq_len=6)
    scale = logit_scale(gqa, task.clean_tokens)
    for receivers in (["L1H3"], ["L1H2", "L1H3"], ["L1H3", "L2H0"]):
        got = path_patch(gqa, task, receivers=receivers, receiver_input=receiver_input)
        want = path_patch(mha, task, receivers=receivers, receiver_input=receiver_input)
        # the same computation, the shared key/value head copied per query head (measured difference 0; the copies
        # are other matmul shapes, which a BLAS may sum in other orders): float32 rounding of the logits per layer
        depth = PER_LAYER * gqa.cfg.n_layers
        assert_f32_close(torch.tensor(got.raw), torch.tensor(want.raw), depth=depth, scale=scale, msg=receivers)
        assert got.axes == ("layer", "head") and got.labels["layer"] == ("0",)
        if receiver_input != "q":
            assert "left alone" in got.intervention
    alone = path_patch(gqa, task, receivers=["L1H3"], receiver_input=receiver_input)
    pair = path_patch(gqa, task, receivers=["L1H2", "L1H3"], receiver_input=receiver_input)
    # measured 0.025-0.074: one query head of a group is not the group
    assert (torch.tensor(alone.raw) - torch.tensor(pair.raw)).abs().max() > 1e-2
