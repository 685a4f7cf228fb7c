"""Named text sources (`text:python-docs`, `text:fortunes`): English prose, two splits that share no passage,
token rows from a real byte-level BPE tokenizer, and errors that say what to give or install."""

import json
import re
from types import SimpleNamespace

import pytest

from interp.loading.token_sources import token_rows
from interp.zoo import texts as text_sources
from interp.zoo.texts import (
    SHARED_WORDS,
    check_text_source,
    evaluation_source,
    fortunes_documents,
    text_documents,
    text_source_names,
)

SOURCES = ("text:python-docs", "text:fortunes")
# The ten commonest English words are about a quarter of the words of English prose, and few of code's.
COMMON = {"the", "of", "and", "to", "a", "in", "is", "that", "it", "for"}
CODE_LINE = re.compile(r"^\s*(>>>|def |class \w+[(:]|import |from \w+ import )|::=", re.MULTILINE)


@pytest.fixture(scope="module")
def bpe_model():
    """A stand-in for a model with a real vocabulary: token_rows reads only `cfg.n_ctx`, `cfg.model_name` and
    `tokenizer`. The tokenizer is GPT-2's kind, byte-level BPE (trained here on a little of the text): no unknown
    tokens, and decoding gives back the exact text, so rows can be traced to the documents they came from."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(text_documents("text:python-docs")[:1500], trainer)  # needs no install
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    return SimpleNamespace(cfg=SimpleNamespace(n_ctx=128, model_name="bpe-stand-in"), tokenizer=fast)


def _runs(documents) -> set[str]:
    runs = set()
    for doc in documents:
        words = re.findall(r"[a-z0-9]+", doc.lower())
        runs |= {" ".join(words[i : i + SHARED_WORDS]) for i in range(len(words) - SHARED_WORDS + 1)}
    return runs


@pytest.mark.parametrize("source", SOURCES)
def test_named_sources_are_english_prose(source):
    for name in (source, f"{source}/heldout"):
        assert name in text_source_names()
    docs = text_documents(source) + text_documents(f"{source}/heldout")
    assert len(docs) > 2000 and sum(map(len, docs)) > 1_000_000
    words = [w for doc in docs for w in re.findall(r"[a-z']+", doc.lower())]
    assert sum(w in COMMON for w in words) / len(words) > 0.18
    assert sum(bool(CODE_LINE.search(doc)) for doc in docs) / len(docs) < 0.005
    assert text_documents(f"{source}/train") == text_documents(source)


@pytest.mark.parametrize("source", SOURCES)
def test_splits_share_no_document_and_no_passage(source):
    train, held = text_documents(source), text_documents(f"{source}/heldout")
    assert 0.08 < len(held) / (len(train) + len(held)) < 0.2
    assert not set(train) & set(held)
    assert not _runs(train) & _runs(held)  # nor a run of SHARED_WORDS words: near-copies go to one split


@pytest.mark.parametrize("source", SOURCES)
def test_token_rows_come_from_their_split_only(bpe_model, source):
    tok = bpe_model.tokenizer
    rows = {
        split: token_rows(bpe_model, n_tokens=10_000_000, context=64, dataset=name)  # all of each split
        for split, name in (("train", source), ("heldout", f"{source}/heldout"))
    }
    assert rows["train"].shape[1] == 64 and len(rows["train"]) > 5 * len(rows["heldout"]) > 1000
    assert (rows["heldout"][:, 0] == tok.bos_token_id).all()
    assert not {tuple(r) for r in rows["train"].tolist()} & {tuple(r) for r in rows["heldout"].tolist()}
    held_text = "\n".join(text_documents(f"{source}/heldout"))
    for row in rows["heldout"][:200].tolist():
        for piece in tok.decode(row[1:]).split(tok.eos_token):
            assert piece in held_text  # every row is held-out text, cut at document ends

    few = token_rows(bpe_model, n_tokens=640, context=64, dataset=source, seed=1)
    assert few.shape == (10, 64)
    assert not (few == token_rows(bpe_model, n_tokens=640, context=64, dataset=source, seed=2)).all()


def test_zoo_model_reads_named_text(lang_model):
    rows = token_rows(lang_model, n_tokens=400, context=40, dataset="text:python-docs/heldout")
    assert rows.shape == (10, 40)
    known = (rows[:, 1:] != lang_model.tokenizer.unk_token_id).float().mean()
    assert 0.1 < known < 0.9  # the zoo's small vocabulary knows the commonest words only


def test_unknown_names_list_the_known_ones(lang_model):
    from sae.train_config import TrainJobConfig

    with pytest.raises(ValueError, match=r"no text source 'novels'.*text:python-docs, text:python-docs/heldout"):
        token_rows(lang_model, n_tokens=400, dataset="text:novels")
    with pytest.raises(ValueError, match=r"no split 'test'; give text:fortunes \(training\) or text:fortunes/heldout"):
        check_text_source("text:fortunes/test")
    with pytest.raises(ValueError, match="no text source 'novels'"):
        TrainJobConfig(dataset="text:novels")
    with pytest.raises(ValueError, match="held-out split, kept for evaluation: train on text:fortunes"):
        TrainJobConfig(dataset="text:fortunes/heldout")


def test_evaluation_reads_the_held_out_split():
    assert evaluation_source("text:fortunes") == "text:fortunes/heldout"
    assert evaluation_source("text:fortunes/train") == "text:fortunes/train"  # asked for by name
    assert evaluation_source("corpus.txt") == "corpus.txt"
    assert evaluation_source("", trained_on="text:python-docs") == "text:python-docs/heldout"
    assert evaluation_source("", trained_on="text:python-docs/train") == "text:python-docs/heldout"
    assert evaluation_source("", trained_on="monology/pile-uncopyrighted") == ""
    with pytest.raises(ValueError, match="no text source"):
        evaluation_source("text:novels")


def test_sae_eval_defaults_to_the_held_out_split_of_the_training_text(tmp_path, capsys):
    from sae.cli import main
    from sae.train_config import SAESpec, TrainJobConfig
    from sae.train_job import run_train_job

    cfg = TrainJobConfig(
        dataset="text:python-docs",
        training_tokens=1024,
        batch_size=1024,
        dataset_tokens=1200,
        shard_tokens=1024,
        context=40,
        device="cpu",
        out=str(tmp_path / "job"),
        saes=(SAESpec(d_sae=64, sparsity=4),),
    )
    [folder] = run_train_job(cfg)
    assert json.loads((folder / "sae" / "cfg.json").read_text())["metadata"]["dataset_path"] == "text:python-docs"
    args = ["eval", str(folder / "sae"), "--model", "zoo:lang-4l", "--n-tokens", "480", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "eval")]) == 0
    assert "tokens from text:python-docs/heldout" in capsys.readouterr().out
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["n_tokens"] > 0
    assert main([*args, "--dataset", "text:python-docs/train", "--out", str(tmp_path / "eval")]) == 0
    assert "tokens from text:python-docs/train" in capsys.readouterr().out


def test_fortunes_read_only_the_data_files(tmp_path, monkeypatch):
    monkeypatch.setattr(text_sources, "FORTUNES_DIR", tmp_path / "none")
    with pytest.raises(ValueError, match=r"apt-get install fortunes.*text:python-docs, which needs no install"):
        text_documents("text:fortunes")
    assert text_documents("text:python-docs")  # needs nothing installed

    (tmp_path / "off").mkdir()
    (tmp_path / "off" / "rude").write_text("An offensive fortune.\n%\n")
    (tmp_path / "quotes").write_text(
        "A fool and his money are soon parted.\n%\nA _\bf_\bo_\bo_\bl and his money are soon parted.\n%\n"
        "Never trust a  computer\nyou cannot lift.\n\t\t-- Stan Mazor\n%\n"
    )
    (tmp_path / "quotes.dat").write_bytes(b"\x00\x00\x00\x02%\x00\xff")
    (tmp_path / "quotes.u8").symlink_to("quotes")
    (tmp_path / "ascii-art").write_text("  /\\_/\\\n ( o.o )\n  > ^ <\n%\n")
    (tmp_path / "code").write_text("int main() { return 0; }\n%\nfor (;;) { x[i] = y[j]; }\n")
    assert fortunes_documents(tmp_path) == (
        "A fool and his money are soon parted.",  # once: the underlined copy has the same words
        "Never trust a  computer\nyou cannot lift.\n\t\t-- Stan Mazor",
    )
