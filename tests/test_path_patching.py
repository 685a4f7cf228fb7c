"""Path patching: known paths of the induction model, and bad input."""

import pytest

from interp.path_patching import path_patch
from interp.tasks import induction_task

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
