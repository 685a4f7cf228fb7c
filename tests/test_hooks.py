import pytest
import torch

from interp.core.hooks import activations, hooks, run_with_cache


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
        torch.testing.assert_close(got[name], cache[name], rtol=0, atol=0)
    # and the model is whole afterwards: a full forward still reaches block 2
    with hooks(lang_model, [("blocks.2.hook_resid_pre", lambda act, hook: later.append(2))]):
        lang_model(tokens)
    assert later == [2]
