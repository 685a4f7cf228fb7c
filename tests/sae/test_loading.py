import pytest
import torch

from interp.loading.saes import SAELoadError, load_sae
from sae.cli import main


def test_saved_sae_loads_back_exactly(tmp_path, capsys):
    from sae_lens import StandardSAE, StandardSAEConfig

    torch.manual_seed(0)
    sae = StandardSAE(StandardSAEConfig(d_in=16, d_sae=32))
    with torch.no_grad():
        for p in sae.parameters():
            p.normal_()
    sae.save_model(str(tmp_path))
    loaded = load_sae(tmp_path)
    x = torch.randn(5, 16)
    torch.testing.assert_close(loaded(x), sae(x), atol=0, rtol=0)  # exact: the same weights through the same kernels
    assert main(["info", str(tmp_path)]) == 0
    assert "standard SAE, d_in 16 -> d_sae 32" in capsys.readouterr().out


def test_bad_folders(tmp_path):
    with pytest.raises(SAELoadError, match="no SAE folder"):
        load_sae(tmp_path / "nope")
    (tmp_path / "cfg.json").write_text("{}")
    with pytest.raises(SAELoadError, match=r"lacks sae_weights.safetensors"):
        load_sae(tmp_path)


def test_pretrained_release_names_fail_fast_offline(monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(SAELoadError, match=r"unreachable.*pass its folder"):
        load_sae("gpt2-small-res-jb:blocks.8.hook_resid_pre")
    assert time.perf_counter() - start < 15  # the registry is local; only the download would need the hub
    with pytest.raises(SAELoadError, match=r"has no SAE 'blocks.99.hook_resid_pre'"):
        load_sae("gpt2-small-res-jb:blocks.99.hook_resid_pre")
    with pytest.raises(SAELoadError, match="unknown SAELens release 'no-such-release'"):
        load_sae("no-such-release:x")


def test_bundled_saes_and_transcoders_load_by_name_from_any_folder(tmp_path, monkeypatch):
    from interp.graphs import load_transcoders
    from interp.zoo import SAE_ZOO_DIR, bundled_names

    monkeypatch.chdir(tmp_path)  # where a user of the installed package stands: no interp/zoo/saes/ here
    assert {"lang-4l-l2-topk16", "lang-4l-transcoders", "smollm2-l15-topk32"} <= set(bundled_names())
    by_name, by_folder = load_sae("zoo:lang-4l-l2-topk16"), load_sae(SAE_ZOO_DIR / "lang-4l-l2-topk16")
    assert by_name.cfg.d_sae == by_folder.cfg.d_sae and torch.equal(by_name.W_dec, by_folder.W_dec)
    assert sorted(load_transcoders("zoo:lang-4l-transcoders").by_layer) == [0, 1, 2, 3]
    with pytest.raises(SAELoadError, match=r"no bundled SAE or transcoders named 'lang-9l'; bundled: lang-4l-l2"):
        load_sae("zoo:lang-9l")
