"""Token sources for SAE jobs and evaluation: text, jsonl, saved `datasets` folders, and hub names offline."""

import json
import time

import datasets
import pytest
import torch

from interp.loading.token_sources import token_rows
from interp.zoo import ZOO

MODEL = "zoo:lang-4l"
WORDS = "the cat sat on the mat and the dog ran to the park while the bird sang"


def _expected_stream(model, docs):
    """What the rows must hold: each document's ids followed by EOS, in order (independent of rows_of)."""
    ids = []
    for doc in docs:
        ids += model.tokenizer(doc, add_special_tokens=False)["input_ids"] + [model.tokenizer.eos_token_id]
    return ids


def _check_rows(model, rows, docs, context):
    bos = model.tokenizer.bos_token_id
    assert rows.shape[1] == context and (rows[:, 0] == bos).all()
    body = rows[:, 1:].reshape(-1).tolist()
    assert body == _expected_stream(model, docs)[: len(body)]


def test_text_and_jsonl_files_are_tokenized_with_the_models_tokenizer(lang_model, tmp_path):
    docs = [f"{WORDS} number {i}" for i in range(40)]
    txt = tmp_path / "corpus.txt"
    txt.write_text(" ".join(docs))
    rows = token_rows(lang_model, n_tokens=160, context=16, dataset=txt)
    assert rows.shape == (10, 16)
    stream = lang_model.tokenizer(txt.read_text(), add_special_tokens=False)["input_ids"]
    assert rows[:, 1:].reshape(-1).tolist() == stream[:150]

    jsonl = tmp_path / "corpus.jsonl"
    jsonl.write_text("".join(json.dumps({"body": d, "id": i}) + "\n" for i, d in enumerate(docs)))
    rows = token_rows(lang_model, n_tokens=160, context=16, dataset=jsonl, text_column="body")
    _check_rows(lang_model, rows, docs, 16)
    with pytest.raises(ValueError, match="line 1 has no 'text' field"):
        token_rows(lang_model, n_tokens=160, context=16, dataset=jsonl)
    jsonl.write_text('{"text": "fine"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        token_rows(lang_model, n_tokens=160, context=16, dataset=jsonl)


def test_saved_datasets_folders_text_and_pretokenized(lang_model, tmp_path):
    docs = [f"{WORDS} item {i}" for i in range(40)]
    datasets.Dataset.from_dict({"text": docs}).save_to_disk(tmp_path / "text")
    _check_rows(lang_model, token_rows(lang_model, n_tokens=320, context=32, dataset=tmp_path / "text"), docs, 32)

    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": docs})}).save_to_disk(tmp_path / "dict")
    _check_rows(lang_model, token_rows(lang_model, n_tokens=320, context=32, dataset=tmp_path / "dict"), docs, 32)

    ids = torch.randint(0, lang_model.cfg.d_vocab, (12, 20))
    datasets.Dataset.from_dict({"input_ids": ids.tolist()}).save_to_disk(tmp_path / "tok")
    rows = token_rows(lang_model, n_tokens=160, context=16, dataset=tmp_path / "tok")
    assert torch.equal(rows, ids[:10, :16])  # used as they are, cut to the context
    with pytest.raises(ValueError, match="fewer than the context of 24"):
        token_rows(lang_model, n_tokens=160, context=24, dataset=tmp_path / "tok")

    datasets.Dataset.from_dict({"body": docs}).save_to_disk(tmp_path / "other")
    with pytest.raises(ValueError, match=r"no 'text'.*set text_column"):
        token_rows(lang_model, n_tokens=160, context=16, dataset=tmp_path / "other")


def test_bad_sources_fail_with_a_clear_message(lang_model, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no token source at"):
        token_rows(lang_model, n_tokens=100, dataset=tmp_path / "missing.txt")
    (tmp_path / "notes.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match=r"unknown file type '.csv'"):
        token_rows(lang_model, n_tokens=100, dataset=tmp_path / "notes.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a folder written by datasets"):
        token_rows(lang_model, n_tokens=100, dataset=tmp_path / "empty")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"hub dataset NeelNanda/pile-10k needs the Hugging Face hub.*save_to_disk"):
        token_rows(lang_model, n_tokens=100, dataset="hf:NeelNanda/pile-10k")
    assert time.perf_counter() - start < 1.0


def test_hub_check_fails_fast_without_the_offline_flag(monkeypatch):
    # an address that accepts nothing useful: the check must give up within its timeout, not hang
    from interp.loading import token_sources as tokens

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(tokens, "HUB_TIMEOUT_S", 0.5)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="cannot reach"):
        tokens.check_hub_dataset("NeelNanda/pile-10k", endpoint="https://10.255.255.1")
    assert time.perf_counter() - start < 3.0


def test_zoo_corpus_is_the_default_and_other_models_need_a_source(lang_model, induction_model, monkeypatch):
    rows = token_rows(lang_model, n_tokens=400, context=40)
    assert rows.shape == (10, 40)
    # the spec is read from the model: the zoo model loaded by the path of its folder reads the same corpus
    monkeypatch.setattr(lang_model.cfg, "model_name", str(ZOO["lang-4l"].folder))
    assert torch.equal(token_rows(lang_model, n_tokens=400, context=40), rows)
    monkeypatch.setattr(lang_model.cfg, "model_name", "some/local-model")
    with pytest.raises(ValueError, match="some/local-model has no built-in corpus"):
        token_rows(lang_model, n_tokens=400, context=40)
