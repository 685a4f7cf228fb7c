import pytest
import torch

from interp.core.hooks import run_with_cache
from interp.observe.activations import ActivationDataset, collect_activations


def _tokens(n=10, pos=12):
    return torch.randint(3, 256, (n, pos), generator=torch.Generator().manual_seed(0))


def test_rows_match_a_direct_cached_run(induction_model):
    tokens = _tokens()
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 4:7] = True
    hooks = ["blocks.0.hook_resid_post", "blocks.1.attn.hook_z"]
    ds = collect_activations(induction_model, tokens, hooks=hooks, labels=lambda t: t % 2, mask=mask, batch_size=4)
    assert len(ds) == 30 and ds.position.tolist()[:3] == [4, 5, 6] and ds.prompt_index.tolist()[:4] == [0, 0, 0, 1]
    _, cache = run_with_cache(induction_model, tokens, hooks)
    torch.testing.assert_close(ds.features(hooks[0]), cache[hooks[0]][mask])
    assert ds.features(hooks[1]).shape == (30, 4 * 16)  # z flattened over heads
    torch.testing.assert_close(ds.labels, tokens[mask] % 2)
    assert torch.equal(ds.token, tokens[mask])


def test_sharded_collection_equals_memory(induction_model, tmp_path):
    tokens = _tokens(n=20)
    labels = torch.arange(20 * 12).reshape(20, 12) % 3
    hooks = ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_post"]
    seen = []
    mem = collect_activations(induction_model, tokens, hooks=hooks, labels=labels, batch_size=6)
    disk = collect_activations(
        induction_model,
        tokens,
        hooks=hooks,
        labels=labels,
        batch_size=6,
        out_dir=tmp_path,
        shard_rows=50,
        progress=lambda done, total: seen.append((done, total)),
        label_names=("a", "b", "c"),
    )
    assert len(list(tmp_path.glob("shard-*.safetensors"))) >= 4  # 240 rows in shards of >= 50
    assert seen[-1] == (20, 20)
    reopened = ActivationDataset.load(tmp_path)
    assert reopened.label_names == ("a", "b", "c")
    for ds in (disk, reopened):
        assert torch.equal(ds.labels, mem.labels) and torch.equal(ds.prompt_index, mem.prompt_index)
        for h in hooks:
            # exact: the same batches of 6 through the same kernels in the same order; only the storage differs
            assert torch.equal(ds.features(h), mem.features(h))


def test_bad_inputs(induction_model, tmp_path):
    tokens = _tokens()
    with pytest.raises(ValueError, match="labels must have shape"):
        collect_activations(induction_model, tokens, hooks=["blocks.0.hook_resid_pre"], labels=torch.zeros(7))
    with pytest.raises(ValueError, match="selects no positions"):
        collect_activations(
            induction_model,
            tokens,
            hooks=["blocks.0.hook_resid_pre"],
            labels=torch.zeros(0),
            mask=torch.zeros_like(tokens, dtype=torch.bool),
        )
    with pytest.raises(ValueError, match=r"no hook blocks.0.hook_mlp_out"):
        collect_activations(induction_model, tokens, hooks=["blocks.0.hook_mlp_out"], labels=tokens)
    ds = collect_activations(induction_model, tokens, hooks=["blocks.0.hook_resid_pre"], labels=tokens)
    with pytest.raises(KeyError, match="was not collected"):
        ds.features("blocks.1.hook_resid_pre")
    with pytest.raises(FileNotFoundError, match="no activation dataset"):
        ActivationDataset.load(tmp_path)


def test_llama_key_value_rows_are_one_vector_per_key_value_head(llama_model):
    # grouped-query attention: hook_k and hook_v hold 2 key/value heads of 8, not the 4 query heads of hook_q
    tokens = torch.randint(3, 64, (6, 9), generator=torch.Generator().manual_seed(0))
    names = ["blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.1.attn.hook_v", "blocks.1.hook_resid_mid"]
    ds = collect_activations(llama_model, tokens, hooks=names, labels=lambda t: t % 2, batch_size=4)
    assert [ds.features(n).shape[1] for n in names] == [4 * 8, 2 * 8, 2 * 8, 32]
    _, cache = run_with_cache(llama_model, tokens, names)
    for name in names:
        torch.testing.assert_close(ds.features(name), cache[name].flatten(2).flatten(0, 1))
