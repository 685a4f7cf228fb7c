import pytest
import torch

from interp.core.hooks import activations, hooks, run_with_cache
from tests.tolerances import PER_LAYER, assert_f32_close


def test_run_with_cache_returns_only_requested_hooks(induction_model):
    tokens = torch.randint(3, 256, (2, 10))
    names = ["blocks.0.hook_resid_pre", "blocks.1.attn.hook_pattern"]
    logits, cache = run_with_cache(induction_model, tokens, names)
    assert list(cache) == names
    assert cache["blocks.1.attn.hook_pattern"].shape == (2, 4, 10, 10)
    torch.testing.assert_close(logits, induction_model(tokens))


def test_missing_hook_names_the_sites(induction_model):
    with pytest.raises(ValueError, match=r"no hook blocks.0.hook_mlp_out.*resid_pre"):
        run_with_cache(induction_model, torch.zeros(1, 3, dtype=torch.long), ["blocks.0.hook_mlp_out"])


def test_hooks_are_removed_even_on_error(induction_model):
    tokens = torch.randint(3, 256, (1, 8))
    clean = induction_model(tokens)

    def zero(act, hook):
        return torch.zeros_like(act)

    with pytest.raises(RuntimeError, match="boom"), hooks(induction_model, [("blocks.0.hook_attn_out", zero)]):
        assert not torch.allclose(induction_model(tokens), clean)  # the hook is live inside
        raise RuntimeError("boom")
    torch.testing.assert_close(induction_model(tokens), clean)


def test_activations_equal_the_cache_and_skip_the_later_layers(lang_model):
    tokens = torch.randint(3, lang_model.cfg.d_vocab, (3, 9))
    names = ["blocks.1.hook_resid_post", "blocks.0.attn.hook_z"]
    _, cache = run_with_cache(lang_model, tokens, names)
    later = []
    with hooks(lang_model, [("blocks.2.hook_resid_pre", lambda act, hook: later.append(2))]):
        got = activations(lang_model, tokens, names)
    assert later == []  # the forward pass stopped after block 1
    assert list(got) == names
    for name in names:
        # exact: the same kernels on the same batch, in the same order, up to where the run stops
        torch.testing.assert_close(got[name], cache[name], rtol=0, atol=0)
    # and the model is whole afterwards: a full forward still reaches block 2
    with hooks(lang_model, [("blocks.2.hook_resid_pre", lambda act, hook: later.append(2))]):
        lang_model(tokens)
    assert later == [2]


@pytest.mark.parametrize("in_place", [False, True])
def test_a_resid_mid_edit_reaches_the_residual_stream(llama_model, in_place):
    # blocks.L.hook_resid_mid is the MLP norm's input on a bridge; hooks() carries a returned edit to the
    # residual as well (through the block's MLP output), and an edit made in place, which the residual
    # already shares, is not counted twice: either way resid_post = edited resid_mid + mlp_out.
    tokens = torch.randint(3, 64, (2, 7), generator=torch.Generator().manual_seed(0))
    shift = torch.linspace(-3, 3, llama_model.cfg.d_model)
    names = ["blocks.1.hook_resid_mid", "blocks.1.hook_mlp_out", "blocks.1.hook_resid_post"]
    _, before = run_with_cache(llama_model, tokens, names)

    def edit(act, hook=None):
        if in_place:
            act += shift
            return None
        return act + shift

    with hooks(llama_model, [(names[0], edit)]):
        _, after = run_with_cache(llama_model, tokens, names[1:])
    assert (after[names[1]] - before[names[1]]).abs().max() > 0.1  # the MLP saw the edit
    expected = before[names[0]] + shift + after[names[1]]
    # float32: the block adds in another order, after a second run up to block 1 (rounding of each layer)
    assert_f32_close(after[names[2]], expected, depth=PER_LAYER * llama_model.cfg.n_layers)
