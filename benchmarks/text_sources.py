"""Measure the named text sources (`interp.zoo.texts`): documents, characters and tokens of each split.

    .venv/bin/python benchmarks/text_sources.py [--gpt2 FOLDER] [--sources python-docs,fortunes] [--smoke]

Tokens are counted with zoo:lang-4l's word-level tokenizer (with the share of its unknown-word token) and,
given `--gpt2`, with the tokenizer saved in FOLDER (any `AutoTokenizer` folder; the module docstring's GPT-2
numbers come from GPT-2's own BPE vocabulary and merges). Documents are tokenized one by one, without the
EOS token `token_rows` puts between them. `--smoke` (tests/test_benchmarks.py) measures one source only.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import parse

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ZOO_TOKENIZER = Path(__file__).resolve().parents[1] / "interp" / "zoo" / "lang-4l" / "tokenizer"
SMOKE = {"sources": "fortunes"}
"""--smoke's choice (options given on the command line still win)."""


def _tokens(tokenizer, documents) -> tuple[int, int]:
    """(tokens, unknown tokens) of the documents."""
    ids = tokenizer(list(documents), add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    return sum(map(len, ids)), sum(row.count(unk) for row in ids) if unk is not None else 0


def main(argv: list[str] | None = None) -> None:
    from transformers import AutoTokenizer

    from interp.zoo.texts import HELDOUT, SOURCES, TEXT_PREFIX, text_documents

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpt2", type=Path, help="a GPT-2 tokenizer folder (vocab.json + merges.txt, or tokenizer.json)")
    p.add_argument("--sources", default=",".join(SOURCES), help="comma-separated names of interp.zoo.texts.SOURCES")
    args = parse(p, argv, SMOKE, smoke_help="one source: checks in seconds that it runs")
    names = args.sources.split(",")
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        p.error(f"unknown sources {unknown}; they are: {', '.join(SOURCES)}")
    tokenizers = {"zoo:lang-4l": AutoTokenizer.from_pretrained(ZOO_TOKENIZER)}
    if args.gpt2:
        tokenizers["GPT-2"] = AutoTokenizer.from_pretrained(args.gpt2)
    for name in names:
        for split in ("", f"/{HELDOUT}"):
            source = f"{TEXT_PREFIX}{name}{split}"
            start = time.perf_counter()
            docs = text_documents(source)
            read_s = time.perf_counter() - start
            line = (
                f"{source:28s} {len(docs):6,d} documents {sum(map(len, docs)):10,d} characters (read in {read_s:.1f} s)"
            )
            for label, tokenizer in tokenizers.items():
                n, unk = _tokens(tokenizer, docs)
                line += f"; {n:9,d} {label} tokens" + (f" ({unk / n:.0%} unknown)" if unk else "")
            print(line)


if __name__ == "__main__":
    main()
