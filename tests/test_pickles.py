"""No pickle a user points at is ever loaded: Hugging Face folders, SAE folders, SAE job checkpoints. And
files that are not whole are refused with a sentence, not a SafetensorError from deep inside a loader."""

import json

import pytest
import torch
from safetensors.torch import save_file

from interp.loading.model import NotACheckpointError, load_model
from interp.loading.saes import SAELoadError, load_sae
from sae.checkpoints import _decode, _encode, load_trainer_state
from tests import tiny_checkpoints
from tests.tolerances import PER_LAYER, assert_f32_close


def test_a_pickle_beside_a_stray_safetensors_file_is_never_loaded(tmp_path, no_unpickling):
    hf = tiny_checkpoints.build("gpt2", tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")  # the weights as a pickle, which transformers reads
    save_file({"x": torch.zeros(2)}, str(tmp_path / "extra.safetensors"))  # satisfies a "has *.safetensors" check
    with pytest.raises(NotACheckpointError, match="could not be loaded"):
        load_model(tmp_path, device="cpu")


def test_safetensors_weights_load_even_with_a_pickle_beside_them(tmp_path, no_unpickling):
    hf = tiny_checkpoints.build("gpt2", tmp_path)
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")  # saving is allowed; loading it would fail the test
    model = load_model(tmp_path, device="cpu")
    tokens = torch.randint(3, tiny_checkpoints.VOCAB, (1, 6))
    with torch.no_grad():
        # float32: the bridge folds the norms into the weights and sums in another order, in every layer
        depth = PER_LAYER * model.cfg.n_layers
        assert_f32_close(model(tokens).log_softmax(-1), hf(tokens).logits.log_softmax(-1), depth=depth)


def test_truncated_weights_are_refused_clearly(tmp_path):
    tiny_checkpoints.build("gpt2", tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(NotACheckpointError, match=r"model.safetensors is truncated: \d+ bytes where its header needs"):
        load_model(tmp_path, device="cpu")
    weights.write_bytes(b"not a safetensors file at all")
    with pytest.raises(NotACheckpointError, match="is not a readable safetensors file"):
        load_model(tmp_path, device="cpu")


def _sae_folder(tmp_path, d_in=8, d_sae=16):
    from sae_lens import StandardSAE, StandardSAEConfig

    folder = tmp_path / "sae"
    StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae)).save_model(str(folder))
    return folder


def test_broken_sae_folders_are_refused_clearly(tmp_path, no_unpickling):
    folder = _sae_folder(tmp_path)
    assert load_sae(folder).cfg.d_sae == 16
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "d_sae": 32}))  # disagrees with the weights
    with pytest.raises(SAELoadError, match=r"do cfg\.json and the weights match"):
        load_sae(folder)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    weights = folder / "sae_weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(SAELoadError, match="truncated"):
        load_sae(folder)


def test_trainer_state_round_trips_without_pickles():
    group = {"betas": (0.9, 0.999), "lr": 1e-3, "params": [0], "fused": None}
    state = {
        "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4)}}, "param_groups": [group]},
        "n_training_steps": 3,
        "started_fine_tuning": False,
        "coefficient_schedulers": {"l1": {"current_step": 3}},
    }
    tensors: dict = {}
    encoded = json.loads(json.dumps(_encode(state, tensors)))  # what the JSON file holds
    decoded = _decode(encoded, tensors)
    assert decoded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # a tuple again
    assert list(decoded["optimizer"]["state"]) == [0]  # an int key again
    assert torch.equal(decoded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert decoded["coefficient_schedulers"] == {"l1": {"current_step": 3}} and decoded["started_fine_tuning"] is False
    with pytest.raises(TypeError, match="without pickling"):
        _encode({"f": object()}, {})


def test_a_pickled_checkpoint_is_refused_not_loaded(tmp_path, no_unpickling):
    checkpoint = tmp_path / "checkpoints" / "4096"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.pt").write_bytes(b"\x80\x04 a pickle")
    with pytest.raises(ValueError, match=r"pickled trainer_state\.pt, which is never loaded"):
        load_trainer_state(None, checkpoint)
