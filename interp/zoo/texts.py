"""Named English text that a fresh machine installs offline from package registries: `text:NAME`, usable
wherever a token source is asked for (`interp.loading.token_sources.token_rows`, `dataset` in a training job,
`--dataset`).

- `text:python-docs`: Python's help topics (`pydoc_data.topics`, cut at their headings) and the prose
  docstrings of its standard library. Nothing to install: every Python has them. PSF License (Python's
  `LICENSE.txt`).
- `text:fortunes`: the fortune cookies (quotations, jokes, definitions, verse) of Debian's `fortunes` and
  `fortunes-min` packages, one document per fortune. `apt-get install fortunes` installs them. BSD-3-Clause
  (`/usr/share/doc/fortunes/copyright`); each quotation is its author's.

| source | documents | characters | GPT-2 tokens | held out: documents | characters | GPT-2 tokens |
| --- | --- | --- | --- | --- | --- | --- |
| `text:python-docs` | 2,552 | 1,280,216 | 296,172 | 297 | 147,373 | 34,081 |
| `text:fortunes` | 14,735 | 2,453,659 | 659,628 | 1,833 | 303,479 | 81,009 |

Both splits together, and the held-out split alone (the training split is the rest), measured by
`benchmarks/text_sources.py` on Python 3.11.7 and fortunes 1:1.99.1-7.3 with GPT-2's own BPE vocabulary
(documents tokenized one by one). zoo:lang-4l's word-level tokenizer reads three tokens in four of them as
its unknown token: the sources are for models with a real vocabulary. The python-docs numbers change a
little with the Python version, whose files they read.

Each source has two splits: `text:NAME` (or `text:NAME/train`) and `text:NAME/heldout`. Documents that share a
run of `SHARED_WORDS` words (lower case, punctuation and spacing dropped) form one group: exact duplicates, a
quotation in two files with two attributions, a docstring copied between modules. A hash of each group's text
puts the whole group in one split, about one group in eight in the held-out one, so no passage of ten words is
in both splits and the split is the same on every machine and every run. Documents with the same words are
kept once. SAE evaluation reads the held-out split of a named source (`evaluation_source`).

What counts as a document, and what is dropped:

- python-docs: a help topic's section (its heading, then its prose) and a docstring, each kept when its prose
  holds at least `MIN_PROSE_CHARS` characters. Prose is a paragraph with at least four words, common English
  words among them (at least 12% of "the", "of", "is", ...) and few code symbols; grammar rules, doctests,
  tables and code examples are dropped, and each paragraph is unwrapped onto one line. Tests, IDLE, lib2to3,
  turtle demos and installed packages are not read.
- fortunes: the fortunes between lines holding only `%`, as written (line breaks and indented attributions
  kept; terminal overstrikes, `_` backspace `x`, resolved). The `ascii-art` file and fortunes that are mostly
  symbols (code, shell sessions) are dropped. The offensive fortunes (Debian's separate `fortunes-off`
  package, in the `off/` folder) are never read: only files directly in the folder are.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sysconfig
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "FORTUNES_DIR",
    "HELDOUT",
    "HELDOUT_ONE_IN",
    "MIN_PROSE_CHARS",
    "SHARED_WORDS",
    "SOURCES",
    "TEXT_PREFIX",
    "TRAIN",
    "TextSource",
    "check_text_source",
    "evaluation_source",
    "fortunes_documents",
    "is_text_source",
    "python_docs_documents",
    "text_documents",
    "text_source_names",
]

TEXT_PREFIX = "text:"
TRAIN = "train"
HELDOUT = "heldout"
HELDOUT_ONE_IN = 8
"""One group of documents in this many (by a hash of its text) is held out."""
SHARED_WORDS = 10
"""Documents that share a run of this many words go to one split (no held-out passage this long was trained on)."""
MIN_PROSE_CHARS = 150
"""A python-docs document keeps at least this much prose (a few sentences), or it is dropped."""
FORTUNES_DIR = Path("/usr/share/games/fortunes")
"""Where Debian's fortunes packages put their data files (read when text:fortunes is read)."""


@dataclass(frozen=True)
class TextSource:
    """A named text source."""

    name: str
    description: str
    licence: str
    install: str
    """The command that installs it; empty when every Python has it."""


SOURCES = {
    "python-docs": TextSource(
        "python-docs",
        "Python's help topics and the prose docstrings of its standard library",
        "PSF License",
        "",
    ),
    "fortunes": TextSource(
        "fortunes",
        "Debian's fortune cookies (quotations, jokes, definitions, verse)",
        "BSD-3-Clause (the quotations are their authors')",
        "apt-get install fortunes",
    ),
}

# Directories of the standard library that hold no documentation of it: test suites, the IDLE editor,
# the deprecated lib2to3 (its own grammar and tests), turtle demos, bundled wheels and installed packages.
_STDLIB_SKIP = frozenset(
    {
        "test",
        "tests",
        "idlelib",
        "lib2to3",
        "turtledemo",
        "ensurepip",
        "pydoc_data",
        "site-packages",
        "dist-packages",
        "lib-dynload",
        "__pycache__",
    }
)
_HEADING_RULE = re.compile(r"([*=\-~^])\1{2,}")
# Function words make up a large part of any English prose and almost none of code or grammar rules.
_COMMON_WORDS = frozenset(
    "the a an of to is are was were be been and in that for with as by this it its or on which from at can may "  # noqa: SIM905 (41 words read best as one string)
    "will should must these those their there when than then into each not".split()
)
_CODE_SYMBOLS = frozenset("=(){}[]<>\\|@#$%^~`")
_FORTUNE_SYMBOLS = frozenset("{}[]\\|#$^~`=_;")
_SKIP_FORTUNE_FILES = frozenset({"ascii-art"})  # pictures drawn in characters, not text


def text_source_names() -> tuple[str, ...]:
    """Every name a token source may take here: each source and its held-out split."""
    return tuple(f"{TEXT_PREFIX}{name}{suffix}" for name in SOURCES for suffix in ("", f"/{HELDOUT}"))


def is_text_source(source: str) -> bool:
    return source.startswith(TEXT_PREFIX)


def check_text_source(source: str) -> tuple[str, str]:
    """(name, split) of `text:NAME[/SPLIT]`, or a ValueError listing the names; reads no text."""
    name, _, split = source.removeprefix(TEXT_PREFIX).partition("/")
    if name not in SOURCES:
        raise ValueError(
            f"no text source {name!r}: the named sources are {', '.join(text_source_names())} "
            f"(text:NAME/{TRAIN} is the same as text:NAME)"
        )
    if split not in ("", TRAIN, HELDOUT):
        raise ValueError(
            f"{source}: no split {split!r}; give {TEXT_PREFIX}{name} (training) or {TEXT_PREFIX}{name}/{HELDOUT}"
        )
    return name, split or TRAIN


def evaluation_source(source: str, *, trained_on: str = "") -> str:
    """The token source an SAE evaluation reads. A named text's bare name (its training split) becomes its
    held-out split; `text:NAME/train` and every other source stay as given. With no `source`, the held-out split
    of `trained_on` (the SAE's training data, SAELens's `dataset_path`) when that is a named text, else empty."""
    if not source and is_text_source(trained_on):
        source = trained_on.removesuffix(f"/{TRAIN}")
    if is_text_source(source) and "/" not in source:
        check_text_source(source)
        return f"{source}/{HELDOUT}"
    return source


def text_documents(source: str) -> tuple[str, ...]:
    """The documents of one split of a named source, in the source's own order."""
    name, split = check_text_source(source)
    documents = python_docs_documents() if name == "python-docs" else fortunes_documents()
    return _splits(documents)[split]


def _words(document: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", document.lower())


def _unique(documents: list[str]) -> tuple[str, ...]:
    """The documents, each kept once (the first of those with the same words)."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for doc in documents:
        key = tuple(_words(doc))
        if key and key not in seen:
            seen.add(key)
            kept.append(doc)
    return tuple(kept)


@cache
def _splits(documents: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The documents in two splits (see the module docstring): documents that share a run of `SHARED_WORDS` words
    are one group (a connected component), and a hash of the group's smallest word sequence picks its split."""
    # plain loops, no helper calls: the test suite type-checks every call, and there is one per shared run of words
    words = [_words(doc) for doc in documents]
    neighbours: list[list[int]] = [[] for _ in documents]
    first: dict[str, int] = {}
    for i, doc_words in enumerate(words):
        for j in range(max(1, len(doc_words) - SHARED_WORDS + 1)):
            other = first.setdefault(" ".join(doc_words[j : j + SHARED_WORDS]), i)
            if other != i:
                neighbours[i].append(other)
                neighbours[other].append(i)
    group = [-1] * len(documents)
    smallest: dict[int, str] = {}
    for start in range(len(documents)):
        if group[start] >= 0:
            continue
        group[start], stack = start, [start]
        while stack:
            i = stack.pop()
            text = " ".join(words[i])
            smallest[start] = min(smallest.get(start, text), text)
            for j in neighbours[i]:
                if group[j] < 0:
                    group[j] = start
                    stack.append(j)
    held = {
        g
        for g, text in smallest.items()
        if int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % HELDOUT_ONE_IN == 0
    }
    return {
        TRAIN: tuple(d for d, g in zip(documents, group) if g not in held),
        HELDOUT: tuple(d for d, g in zip(documents, group) if g in held),
    }


# ---- python-docs ----


def _is_prose(paragraph: str) -> bool:
    words = paragraph.split()
    if len(words) < 4 or ">>>" in paragraph or "::=" in paragraph or paragraph[0] in "+|":
        return False
    common = sum(w.strip(".,;:!?\"'()*").lower() in _COMMON_WORDS for w in words) / len(words)
    symbols = sum(c in _CODE_SYMBOLS for c in paragraph) / len(paragraph)
    return common >= 0.12 and symbols <= 0.04


def _prose(paragraphs: list[str]) -> str:
    """The prose paragraphs, each unwrapped onto one line, separated by blank lines."""
    kept = (textwrap.dedent(p).strip() for p in paragraphs)
    return "\n\n".join(" ".join(p.split()) for p in kept if p and _is_prose(p))


def _paragraphs(text: str) -> list[str]:
    return re.split(r"\n[ \t]*\n", text)


def _topic_sections(topic: str) -> list[str]:
    """A help topic cut at its headings (a line underlined with *, =, - ...): each section's heading and prose."""
    sections, title, body = [], "", []
    for paragraph in [*_paragraphs(topic), "END\n==="]:  # a last heading closes the last section
        lines = paragraph.strip("\n").splitlines()
        if len(lines) == 2 and _HEADING_RULE.fullmatch(lines[1].strip()):
            prose = _prose(body)
            if len(prose) >= MIN_PROSE_CHARS:
                sections.append(f"{title}\n\n{prose}" if title else prose)
            title, body = lines[0].strip(), []
        else:
            body.append(paragraph)
    return sections


def _stdlib_files(stdlib: Path) -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(stdlib):  # never follows links out of the library
        subfolders[:] = [s for s in subfolders if s not in _STDLIB_SKIP and not s.startswith("config-")]
        files += [Path(folder) / n for n in names if n.endswith(".py")]
    return sorted(files, key=lambda p: p.relative_to(stdlib).parts)


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):  # a file for another Python version, or not Python source
        return []
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [doc for node in ast.walk(tree) if isinstance(node, kinds) and (doc := ast.get_docstring(node))]


@cache
def _python_docs(stdlib: str) -> tuple[str, ...]:
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions move it to a separate package; the docstrings are still there
        topics = {}
    documents = [s for name in sorted(topics) for s in _topic_sections(topics[name])]
    for path in _stdlib_files(Path(stdlib)):
        documents += [p for doc in _docstrings(path) if len(p := _prose(_paragraphs(doc))) >= MIN_PROSE_CHARS]
    return _unique(documents)


def python_docs_documents(stdlib: str | Path | None = None) -> tuple[str, ...]:
    """Every document of text:python-docs (both splits): the help topics' sections, then the docstrings of the
    standard library at `stdlib` (default: this Python's) file by file in path order."""
    return _python_docs(str(stdlib or sysconfig.get_paths()["stdlib"]))


# ---- fortunes ----


def _overstruck(text: str) -> str:
    """Terminal overstrikes resolved: a backspace erases the character before it, so `_<BS>x` (underlined x)
    and `x<BS>x` (bold x) print as `x`."""
    if "\b" not in text:
        return text
    out: list[str] = []
    for char in text:
        if char != "\b":
            out.append(char)
        elif out and out[-1] != "\n":
            out.pop()
    return "".join(out)


def _reads_as_text(fortune: str) -> bool:
    chars = [c for c in fortune if not c.isspace()]
    letters = sum(c.isalpha() for c in chars) / len(chars)
    return letters >= 0.7 and sum(c in _FORTUNE_SYMBOLS for c in chars) / len(chars) <= 0.03


def _fortune_files(folder: Path) -> list[Path]:
    """The data files directly in `folder`: not the strfile indexes (.dat), not the .u8 links to the same
    files, and not folders (`off/` holds the offensive ones)."""
    if not folder.is_dir():
        return []
    return [
        p
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.is_symlink() and p.suffix not in (".dat", ".u8") and p.name not in _SKIP_FORTUNE_FILES
    ]


@cache
def _fortunes(folder: str) -> tuple[str, ...]:
    files = _fortune_files(Path(folder))
    if not files:
        raise ValueError(
            f"text:fortunes reads Debian's fortunes package, which is not installed here ({folder} holds no "
            "fortune files): install it with `apt-get install fortunes` (as root; `./workbench test` does), or use "
            "text:python-docs, which needs no install"
        )
    documents = []
    for path in files:
        text = _overstruck(path.read_bytes().decode("utf-8", errors="replace"))
        for fortune in re.split(r"^%[ \t]*$", text, flags=re.MULTILINE):
            fortune = "\n".join(line.rstrip() for line in fortune.strip("\n").splitlines()).strip()
            if fortune and _reads_as_text(fortune):
                documents.append(fortune)
    return _unique(documents)


def fortunes_documents(folder: str | Path | None = None) -> tuple[str, ...]:
    """Every document of text:fortunes (both splits), file by file in name order, from `folder` (default
    `FORTUNES_DIR`); a ValueError saying how to install them when the folder holds none."""
    return _fortunes(str(folder or FORTUNES_DIR))
