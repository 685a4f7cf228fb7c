"""Token rows for SAE training and evaluation, offline first.

A token source is one string:

- empty (or "zoo"): a zoo model's own generated corpus (a fresh seed, not its training seed);
- `text:NAME` (`text:python-docs`, `text:fortunes`): named English text installed from package registries,
  and `text:NAME/heldout`, its held-out split (`interp.zoo.texts` says what each holds). Its documents are
  taken in an order shuffled by `seed`, so that a few thousand tokens sample the whole source;
- `FILE.txt`: plain text, tokenized with the model's tokenizer;
- `FILE.jsonl`: one JSON object per line; its `text_column` ("text") is tokenized;
- a folder written by `datasets.Dataset.save_to_disk` (or a `DatasetDict`: its "train" split): rows
  of an `input_ids` column are used as they are (pretokenized, cut to `context`), otherwise its
  `text_column` is tokenized;
- `hf:NAME` (optionally `hf:NAME:CONFIG`): a hub dataset, streamed. Only when the hub is reachable:
  with `HF_HUB_OFFLINE=1`, or when the hub does not answer within 3 s, it fails at once with a
  message saying how to bring the data over as a folder instead (`datasets` itself would retry for
  tens of seconds before failing).

Documents are tokenized, joined with the tokenizer's EOS token between them (when it has one), and
cut into rows of `context` tokens that each start with BOS (when the model has one) -- the same rows
SAELens builds from a text dataset with its default concatenation.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Int
from torch import Tensor

from interp.core.locking import lock_free
from interp.loading.spec import ModelSpec, parse_spec
from interp.results import parse_json, read_text
from interp.vocab.types import Model
from interp.zoo.texts import is_text_source, text_documents

__all__ = ["HUB_PREFIX", "HUB_TIMEOUT_S", "check_hub_dataset", "rows_of", "token_rows"]

log = logging.getLogger(__name__)

HUB_PREFIX = "hf:"
HUB_TIMEOUT_S = 3.0


def rows_of(ids: list[int], *, context: int, n_rows: int, bos: int | None) -> Int[Tensor, "batch pos"]:
    """Cut a stream of token ids into rows of `context` tokens (each starting with BOS when the model has one)."""
    body = context - (bos is not None)
    rows = [ids[i : i + body] for i in range(0, len(ids) - body + 1, body)][:n_rows]
    if not rows:
        raise ValueError(f"the data holds {len(ids)} tokens, fewer than one row of {context}")
    return torch.tensor([([bos] if bos is not None else []) + row for row in rows])


@lock_free("tokenizer only")
def token_rows(
    model: Model,
    *,
    n_tokens: int,
    context: int = 48,
    dataset: str | Path | None = None,
    text_column: str = "text",
    seed: int = 0,
) -> Int[Tensor, "batch pos"]:
    """About `n_tokens` tokens (at most that many rows of `context`) from `dataset` (see the module
    docstring), or from the model's default source when `dataset` is empty (a zoo model's own corpus, or for
    zoo:smollm2-135m the text its SAE was trained on: `interp.zoo.ModelDefaults.text`). The model's spec is read
    from the model (`model.cfg.model_name`), so a zoo model loaded by path reads its own corpus too."""
    spec = parse_spec(model.cfg.model_name)
    context = min(context, model.cfg.n_ctx)
    n_rows = max(1, n_tokens // context)
    source = str(dataset or "")
    if not source:  # the model's own default: its zoo corpus, or a named text for a model without one
        source = spec.defaults.text
    if source == "zoo":
        return _zoo_rows(model, spec, n_rows, context, seed)
    if model.tokenizer is None:
        raise ValueError(f"{spec.text} has no tokenizer, so it cannot read {source}; use its zoo corpus")
    bos = model.tokenizer.bos_token_id
    need = n_rows * context
    if is_text_source(source):
        documents = list(text_documents(source))
        random.Random(seed).shuffle(documents)
        rows = rows_of(_tokenize(model, documents, need), context=context, n_rows=n_rows, bos=bos)
        if len(rows) < n_rows:
            log.warning(
                "%s holds %d rows of %d tokens, fewer than the %d asked for", source, len(rows), context, n_rows
            )
        return rows
    if source.startswith(HUB_PREFIX):
        return rows_of(
            _tokenize(model, _hub_documents(source[len(HUB_PREFIX) :], text_column), need),
            context=context,
            n_rows=n_rows,
            bos=bos,
        )
    path = Path(source).expanduser()
    if path.is_dir():
        data = _load_folder(path)
        if "input_ids" in data.column_names:
            return _pretokenized_rows(data, n_rows, context, path)
        return rows_of(
            _tokenize(model, _column(data, text_column, path), need), context=context, n_rows=n_rows, bos=bos
        )
    if not path.is_file():
        raise ValueError(
            f"no token source at {path}: give a .txt or .jsonl file, a saved `datasets` folder, text:NAME "
            "(text:python-docs, text:fortunes) or hf:NAME"
        )
    if path.suffix not in (".jsonl", ".txt", ".md", ""):
        raise ValueError(f"{path}: unknown file type {path.suffix!r}; a token source is a .txt or .jsonl file")
    documents = _jsonl_documents(path, text_column) if path.suffix == ".jsonl" else [read_text(path, "a token source")]
    try:
        return rows_of(_tokenize(model, documents, need), context=context, n_rows=n_rows, bos=bos)
    except ValueError as err:
        if str(path) in str(err):  # the readers' own errors name the file already
            raise
        raise ValueError(f"{path}: {err}") from err


def _zoo_rows(model: Model, spec: ModelSpec, n_rows: int, context: int, seed: int) -> Tensor:
    from interp.zoo import corpus

    if spec.zoo == "lang-4l":
        docs = corpus.lang_documents(n_rows, n_words=context + 8, seed=seed + 1000)  # not the training seed
        ids = model.tokenizer(docs, add_special_tokens=False)["input_ids"]
        return torch.tensor([[corpus.BOS_ID, *row[: context - 1]] for row in ids])
    if spec.zoo == "induction-2l":
        gen = torch.Generator().manual_seed(seed + 1000)
        return corpus.repeated_sequences(
            n_rows, n_ctx=context, d_vocab=model.cfg.d_vocab, min_len=3, max_len=24, generator=gen
        )
    raise ValueError(
        f"{spec.text} has no built-in corpus (only the zoo models do): give a token source (text:python-docs or "
        "text:fortunes, a .txt/.jsonl file, a datasets folder or hf:NAME)"
    )


def _tokenize(model: Model, documents: Iterable[str], need: int) -> list[int]:
    """Token ids of the documents joined by EOS, read only until `need` tokens (plus one row's slack) are in."""
    eos = model.tokenizer.eos_token_id
    ids: list[int] = []
    for doc in documents:
        ids.extend(model.tokenizer(doc, add_special_tokens=False)["input_ids"])
        if eos is not None:
            ids.append(eos)
        if len(ids) > need * 1.1 + 64:
            break
    return ids


def _jsonl_documents(path: Path, column: str) -> Iterator[str]:
    for n, line in enumerate(read_text(path, "a token source").splitlines(), 1):
        if not line.strip():
            continue
        record = parse_json(line, f"{path} line {n}", "a document")
        if not isinstance(record, dict) or column not in record:
            raise ValueError(f"{path} line {n} has no {column!r} field (set text_column to the field holding the text)")
        if not isinstance(record[column], str):
            raise ValueError(f"{path} line {n}: its {column!r} field holds a {type(record[column]).__name__}, not text")
        yield record[column]


def _load_folder(path: Path) -> Any:
    import datasets

    try:
        data = datasets.load_from_disk(str(path))
    except FileNotFoundError as err:
        raise ValueError(f"{path} is not a folder written by datasets' save_to_disk: {err}") from err
    if isinstance(data, datasets.DatasetDict):
        if "train" not in data:
            raise ValueError(f"{path} holds splits {', '.join(data)}, and no 'train' split")
        data = data["train"]
    return data


def _pretokenized_rows(data: Any, n_rows: int, context: int, where: object) -> Tensor:
    """Rows of a pretokenized dataset used as they are (their own BOS convention), cut to `context`."""
    rows = [row[:context] for row in islice((r["input_ids"] for r in data), n_rows)]
    short = min(len(r) for r in rows)
    if short < context:
        raise ValueError(
            f"{where}: pretokenized rows hold {short} tokens, fewer than the context of {context}; lower `context`"
        )
    return torch.tensor(rows)


def _column(rows: Iterable[dict], column: str, where: object) -> Iterator[str]:
    """The `column` text of each row (of a datasets folder, or streamed from the hub)."""
    for row in rows:
        if column not in row:
            raise ValueError(f"{where} has columns {', '.join(row)}: no {column!r} (set text_column)")
        yield str(row[column])


def check_hub_dataset(name: str, *, endpoint: str | None = None) -> None:
    """Raise a ValueError at once unless the hub answers within `HUB_TIMEOUT_S` and has dataset `name`
    (a TCP check is not enough: sandboxes accept connections to any address and then hang)."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import RepositoryNotFoundError

    unreachable = (
        f"hub dataset {name} needs the Hugging Face hub, which this machine cannot reach{{}}. Where the hub is "
        "reachable, "
        "run datasets.load_dataset(...).save_to_disk(FOLDER), copy FOLDER here and give FOLDER as the token source"
    )
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise ValueError(unreachable.format(" (HF_HUB_OFFLINE is set)"))
    try:
        HfApi(endpoint=endpoint).dataset_info(name, timeout=HUB_TIMEOUT_S)
    except RepositoryNotFoundError as err:
        raise ValueError(f"the hub has no dataset named {name} (or it is private)") from err
    except Exception as err:  # connection, TLS and timeout errors come from several libraries
        raise ValueError(unreachable.format(f" ({type(err).__name__})")) from err


def _hub_documents(name: str, column: str) -> Iterator[str]:
    if not name:
        raise ValueError("hf: needs a dataset name, e.g. hf:NeelNanda/pile-10k")
    path, _, config = name.partition(":")
    check_hub_dataset(path)
    import datasets

    data = datasets.load_dataset(path, config or None, split="train", streaming=True)
    return _column(data, column, f"hub dataset {name}")
