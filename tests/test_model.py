"""load_model: zoo, local Hugging Face folders, and every bad input's clear error."""

import json
import time

import pytest
import torch

from interp.core.sites import model_sites
from interp.core.tokens import ContextTooLongError, token_ids
from interp.loading.model import (
    HubUnreachableError,
    ModelLoadError,
    NotACheckpointError,
    UnknownModelError,
    UnsupportedArchitectureError,
    load_model,
)
from interp.observe.overview import model_facts
from tests import tiny_checkpoints
from tests.tolerances import PER_LAYER, assert_f32_close


@pytest.mark.parametrize("kind", ["gpt2", "llama", "neox"])
def test_local_checkpoint_matches_hugging_face(tmp_path, kind):
    hf = tiny_checkpoints.build(kind, tmp_path)
    model = load_model(tmp_path, device="cpu")
    tokens = torch.randint(3, tiny_checkpoints.VOCAB, (3, 20), generator=torch.Generator().manual_seed(1))
    hf.config._attn_implementation = "eager"  # the bridge runs eager attention; sdpa reorders ops (~1e-3 drift)
    with torch.no_grad():
        expected = hf(tokens).logits.log_softmax(-1)
        got = model(tokens).log_softmax(-1)
    # Compare log-probabilities, not logits: compatibility mode centres the unembedding, which
    # shifts every logit of a position by the same constant. Float32: folding LayerNorm into the weights
    # reorders a few sums in every layer (measured max difference ~5e-7 on log-probabilities ~4.6).
    assert_f32_close(got, expected, depth=PER_LAYER * model.cfg.n_layers)
    if kind == "llama":
        assert model.cfg.n_key_value_heads == 2  # grouped-query attention survived loading


def test_zoo_models_load_with_their_sites(lang_model, induction_model):
    lang, ind = model_facts(lang_model), model_facts(induction_model)
    assert (lang.n_layers, lang.d_model, lang.attn_only) == (4, 128, False)
    assert {"resid_mid", "mlp_out"} <= set(lang.sites)
    assert ind.attn_only and ind.n_layers == 2
    # attention-only: no MLP sites, even though the bridge defines alias hooks such as hook_mlp_in
    assert not {"resid_mid", "mlp_out"} & set(model_sites(induction_model))
    assert {"resid_pre", "attn_out", "z", "pattern"} <= set(ind.sites)


def test_unknown_name_lists_the_zoo_and_local_folders():
    with pytest.raises(UnknownModelError) as err:
        load_model("gpt-7-turbo", device="cpu")
    msg = str(err.value)
    assert "zoo:lang-4l" in msg and "zoo:induction-2l" in msg and "folder" in msg


def test_unknown_zoo_name():
    with pytest.raises(UnknownModelError, match="zoo:lang-4l"):
        load_model("zoo:nope", device="cpu")


def test_official_name_offline_fails_fast():
    start = time.perf_counter()
    with pytest.raises(HubUnreachableError, match=r"local directory|DIR"):
        load_model("gpt2-small", device="cpu")
    assert time.perf_counter() - start < 10


def test_file_is_not_a_checkpoint(tmp_path):
    f = tmp_path / "weights.txt"
    f.write_text("x")
    with pytest.raises(NotACheckpointError, match="is a file"):
        load_model(f, device="cpu")


def test_folder_without_config(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(NotACheckpointError, match=r"no config\.json") as err:
        load_model(tmp_path, device="cpu")
    assert "notes.md" not in str(err.value)  # no listing of a folder's files: the app shows these errors


def test_broken_config_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(NotACheckpointError, match="not valid JSON"):
        load_model(tmp_path, device="cpu")


def test_pickled_weights_are_refused(tmp_path):
    tiny_checkpoints.build("gpt2", tmp_path)
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(NotACheckpointError, match="safetensors"):
        load_model(tmp_path, device="cpu")


def test_missing_tokenizer(tmp_path):
    tiny_checkpoints.build("gpt2", tmp_path)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / f).unlink()
    with pytest.raises(NotACheckpointError, match="no tokenizer"):
        load_model(tmp_path, device="cpu")


def test_unsupported_architecture(tmp_path):
    tiny_checkpoints.build("xlnet", tmp_path)
    with pytest.raises(UnsupportedArchitectureError, match=r"XLNetLMHeadModel.*not supported"):
        load_model(tmp_path, device="cpu")


def test_remote_code_is_refused(tmp_path):
    tiny_checkpoints.build("gpt2", tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.Model"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedArchitectureError, match="never runs code"):
        load_model(tmp_path, device="cpu")


def test_corrupt_zoo_format_weights(tmp_path):
    from interp.training.models import train_zoo_model

    train_zoo_model("induction-2l", out_dir=tmp_path, steps=2)
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(NotACheckpointError, match="could not be loaded"):
        load_model(tmp_path, device="cpu")


def test_prompt_longer_than_context(induction_model):
    word = induction_model.tokenizer.convert_ids_to_tokens(10)
    text = " ".join([word] * 100)
    with pytest.raises(ContextTooLongError, match=r"101 tokens.*context of 64"):
        token_ids(induction_model, text)


def test_bad_device_and_dtype():
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA device"):
            load_model("zoo:induction-2l", device="cuda")
    with pytest.raises(ModelLoadError, match="dtype must be one of 'float32', 'float16', 'bfloat16'; got 'float8'"):
        load_model("zoo:induction-2l", dtype="float8")


@pytest.mark.gpu
def test_auto_device_is_cuda_when_present():
    model = load_model("zoo:induction-2l")
    assert model_facts(model).device.startswith("cuda")
