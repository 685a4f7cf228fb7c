import pytest
import torch

from interp.core.hooks import hooks, run_with_cache


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
