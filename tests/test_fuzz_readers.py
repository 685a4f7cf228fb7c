"""Every file the workbench reads, damaged: truncated, emptied, random bytes, deeply nested, wrong types, and
sizes that lie. Each reader must refuse with one line that names the file and says what is wrong (a ValueError
or OSError, which the commands print as `interp: error: ...` with exit code 2, docs/BAD_INPUTS.md), and must not
allocate what a damaged file claims. Bad files are made from good ones, which are read first: a damage the
reader does not notice fails the test as surely as a traceback does."""

from __future__ import annotations

import importlib
import json
import random
import resource
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SAE = ROOT / "interp" / "zoo" / "saes" / "lang-4l-l2-topk16"
TRANSCODERS = ROOT / "interp" / "zoo" / "saes" / "lang-4l-transcoders"
NEST = 100_000  # brackets: far past Python's recursion limit
PEAK_MB = 1024  # what reading one damaged file may add to the process's peak memory


@dataclass(frozen=True)
class Reader:
    """A reader of one kind of file: `make(tmp)` writes a good one and returns the path given to `read`, and the
    files inside it to damage (relative to it; "" for the path itself)."""

    name: str
    make: Callable[[Path], tuple[Path, tuple[str, ...]]]
    read: Callable[[Path], object]
    tolerates: tuple[str, ...] = ()
    """Damages it may read without an error, and why (in a comment where the reader is listed)."""


def _graph_json(tmp: Path):
    graph = {
        "metadata": {"slug": "g", "prompt_tokens": ["a", "b"]},
        "nodes": [
            {"node_id": "0_1_1", "feature_type": "cross layer transcoder", "layer": "0", "feature": 1, "ctx_idx": 1,
             "activation": 1.0, "influence": 0.5, "clerp": ""},
            {"node_id": "L", "feature_type": "logit", "layer": "2", "feature": 5, "ctx_idx": 1, "clerp": '"b"',
             "token_prob": 0.9},
        ],
        "links": [{"source": "0_1_1", "target": "L", "weight": 0.25}],
    }  # fmt: skip
    (tmp / "graph.json").write_text(json.dumps(graph))
    return tmp / "graph.json", ("",)


def _graph_folder(tmp: Path):
    from interp.graphs.export import read_graph_json
    from interp.results.graphs import save_graph

    path, _ = _graph_json(tmp)
    return save_graph(read_graph_json(path), tmp / "saved"), ("graph.json", "graph.safetensors")


def _steering_vector(tmp: Path):
    from interp.results import SteeringVector
    from interp.steering.vectors import save_vector

    vector = SteeringVector("zoo:lang-4l", "blocks.1.hook_resid_post", "diffmean", torch.ones(128), 2.0, "test", 3, 3)
    folder = save_vector(vector, tmp / "vector")
    return folder, tuple(p.name for p in sorted(folder.iterdir()))


def _sae(tmp: Path):
    return shutil.copytree(SAE, tmp / "sae"), ("cfg.json", "sae_weights.safetensors")


def _transcoders(tmp: Path):
    folder = tmp / "transcoders"
    for layer in ("L0", "L1"):
        shutil.copytree(TRANSCODERS / layer, folder / layer)
    return folder, tuple(f"L0/{p.name}" for p in sorted((folder / "L0").iterdir()))


def _hf_folder(tmp: Path):
    from tests import tiny_checkpoints

    tiny_checkpoints.build("gpt2", tmp / "hf")
    return tmp / "hf", ("config.json", "model.safetensors", "tokenizer.json")


def _gguf(tmp: Path):
    from tests.test_gguf import write_gguf

    write_gguf(tmp / "model.gguf", "llama")
    return tmp / "model.gguf", ("",)


def _facts(tmp: Path):
    from interp.editing.facts import FACTS_FILE

    lines = Path(FACTS_FILE).read_text().splitlines()[:3]
    (tmp / "facts.jsonl").write_text("\n".join(lines) + "\n")
    return tmp / "facts.jsonl", ("",)


def _prompts(tmp: Path):
    (tmp / "prompts.txt").write_text("When Mary and John went to the store\nThe cat sat on the\n")
    return tmp / "prompts.txt", ("",)


def _job_config(tmp: Path):
    from tests.test_bad_inputs import JOB

    (tmp / "job.toml").write_text(JOB.format(out=tmp / "job"))
    return tmp / "job.toml", ("",)


def _activation_cache(tmp: Path):
    from interp.observe.activations import META
    from tests.test_train_job import _write_cache

    _write_cache(tmp / "cache", [6, 6, 4])
    return tmp / "cache", (META, "shard-00000.safetensors")


def _training_log(tmp: Path):
    (tmp / "run").mkdir()
    lines = [{"step": s, "tokens": 1024 * s, "loss": 1.0 / s, "l0": 8.0, "explained_variance": 0.5} for s in (5, 10)]
    (tmp / "run" / "log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return tmp / "run", ("log.jsonl",)


def _result_json(tmp: Path):
    from interp.results import TrainingLog, save_json

    log = TrainingLog(
        name="topk-256-8", model="zoo:lang-4l", hook="blocks.2.hook_resid_post", tokens=(5120, 10240),
        loss=(2.0, 1.0), l0=(8.0, 8.0), explained_variance=(0.4, 0.6),
    )  # fmt: skip
    return save_json(log, tmp / "training.json"), ("",)


def _checkpoint_data(tmp: Path):
    (tmp / "ck").mkdir()
    data = {"step": 10, "batch_size": 1024, "seed": 0, "workers": 2, "next_rows": [[0, 512], [512, 1024]]}
    (tmp / "ck" / "data.json").write_text(json.dumps(data))
    return tmp / "ck", ("data.json",)


def _token_file(suffix: str):
    def make(tmp: Path):
        lines = ["When Mary and John went to the store , John gave a drink to Mary", "The cat sat on the mat"] * 20
        text = "".join(json.dumps({"text": x}) + "\n" for x in lines) if suffix == ".jsonl" else "\n".join(lines)
        (tmp / f"tokens{suffix}").write_text(text)
        return tmp / f"tokens{suffix}", ("",)

    return make


def _reader(module: str, name: str) -> Callable[[Path], object]:
    """`module.name(path)`, imported when first called (the readers import torch and more)."""

    def read(path: Path) -> object:
        return getattr(importlib.import_module(module), name)(path)

    return read


def _read_tokens(path):
    from interp.loading.model import load_model
    from interp.loading.token_sources import token_rows

    return token_rows(load_model("zoo:lang-4l"), n_tokens=200, context=16, dataset=str(path))


def _read_result_json(path):
    from interp.results import TrainingLog, load_json

    return load_json(TrainingLog, path)


def _read_prompts(path):
    from interp.results import read_lines

    return read_lines(path, "prompts")


def _read_job(path):
    from sae.train_config import TrainJobConfig

    return TrainJobConfig.from_toml(path)


def _read_cache(path):
    from sae.train_job import BatchOrder

    order = BatchOrder(path, "h", 8, seed=0)
    return [order.batch(step) for step in range(3)]


READERS = (
    Reader("graph JSON (interp graph --read)", _graph_json, _reader("interp.graphs.export", "read_graph_json")),
    Reader("saved graph folder", _graph_folder, _reader("interp.results.graphs", "load_graph")),
    Reader(
        "steering vector folder (interp generate --steer)",
        _steering_vector,
        _reader("interp.steering.vectors", "load_vector"),
    ),
    Reader("SAE folder", _sae, _reader("interp.loading.saes", "load_sae")),
    Reader("transcoder folder", _transcoders, _reader("interp.graphs.transcoder_set", "load_transcoders")),
    Reader("Hugging Face model folder", _hf_folder, _reader("interp.loading.model", "load_model")),
    # the header, where a damaged file first shows (the sizes its metadata claims are checked before dequantizing,
    # in converted_folder: test_gguf.py)
    Reader("GGUF file", _gguf, _reader("interp.loading.gguf", "gguf_facts")),
    Reader("fact file (interp edit --facts)", _facts, _reader("interp.editing.facts", "load_facts")),
    Reader("prompt file (interp steer --positive)", _prompts, _read_prompts, tolerates=("truncated",)),  # fewer prompts
    Reader("job config (sae train)", _job_config, _read_job),
    Reader("activation cache (a job's activations/)", _activation_cache, _read_cache),
    # a kill in the middle of a write leaves half a line at the end, which resuming drops (training writes it
    # again from the last checkpoint): a damaged last line, or no line yet, is a log as a killed job leaves it
    Reader("result JSON (load_json)", _result_json, _read_result_json),
    # values of other types are read as they are: resuming compares each with the job's own settings and refuses a
    # checkpoint whose settings differ (test_train_job.py: "other settings (batch_size 1024 -> 512)")
    Reader(
        "checkpoint data (resume)",
        _checkpoint_data,
        _reader("sae.checkpoints", "checkpoint_data"),
        tolerates=("wrong types",),
    ),
    # a shorter text is a text; words the tokenizer does not know are its unknown token, as for any text
    Reader("token file, .txt (--dataset)", _token_file(".txt"), _read_tokens, tolerates=("truncated",)),
    # read lazily: the rows asked for are filled before the cut line is reached
    Reader("token file, .jsonl (--dataset)", _token_file(".jsonl"), _read_tokens, tolerates=("truncated",)),
    Reader(
        "training log (resume)",
        _training_log,
        _reader("sae.train_job", "read_log"),
        tolerates=("truncated", "empty", "nested"),
    ),
)


def _retyped(value):
    """`value` with every leaf of another type: numbers become strings, strings numbers, lists objects."""
    if isinstance(value, dict):
        return {k: _retyped(v) for k, v in value.items()}
    if isinstance(value, list):
        return {"0": _retyped(value[0])} if value else 7
    if isinstance(value, bool | int | float) or value is None:
        return "x"
    return 12345


def _inflated(value):
    """`value` with every whole number above 1 made ten thousand times larger: counts and sizes that lie."""
    if isinstance(value, dict):
        return {k: _inflated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inflated(v) for v in value]
    return value * 10_000 if isinstance(value, int) and not isinstance(value, bool) and value > 1 else value


def _text_damage(data: bytes, suffix: str) -> dict[str, bytes]:
    """Damage that only a text format can take: deep nesting, wrong types and inflated counts, in that format."""
    if suffix == ".toml":
        return {"nested": b"model = " + b"[" * NEST + b"]" * NEST + b"\n", "wrong types": b'model = 3\nhook = ["a"]\n'}
    if suffix not in (".json", ".jsonl"):
        return {}
    nested = b"[" * NEST + b"]" * NEST
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        return {"nested": nested + b"\n", "wrong types": "".join(json.dumps(_retyped(r)) + "\n" for r in rows).encode()}
    parsed = json.loads(data)
    return {
        "nested": nested,
        "wrong types": json.dumps(_retyped(parsed)).encode(),
        "counts lie": json.dumps(_inflated(parsed)).encode(),
    }


def _safetensors_lies(data: bytes) -> dict[str, bytes]:
    """The header's first tensor claiming 2^40 elements (the data left as it is), and a header length of 2^62."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [1 << 20, 1 << 20]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return {
        "tensor size lies": struct.pack("<Q", len(text)) + text + data[8 + length :],
        "header size lies": struct.pack("<Q", 1 << 62) + data[8:],
    }


def _gguf_lies(data: bytes) -> dict[str, bytes]:
    """GGUF v3's tensor count and metadata count (two little-endian u64 after magic and version) claiming 2^60."""
    huge = struct.pack("<Q", 1 << 60)
    return {"tensor count lies": data[:8] + huge + data[16:], "metadata count lies": data[:16] + huge + data[24:]}


def _damages(path: Path) -> dict[str, bytes]:
    data = path.read_bytes()
    noise = random.Random(0).randbytes(max(len(data), 64))
    found = {"truncated": data[: len(data) // 2], "empty": b"", "random bytes": noise}
    found |= _text_damage(data, path.suffix)
    if path.suffix == ".safetensors":
        found |= _safetensors_lies(data)
    if path.suffix == ".gguf":
        found |= _gguf_lies(data)
    return found


def _cases():
    cases = []
    for reader in READERS:
        cases.append(pytest.param(reader, None, id=f"{reader.name}: good"))
        cases.append(pytest.param(reader, "*", id=f"{reader.name}: damaged"))
    return cases


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("reader, damage", _cases())
def test_a_damaged_file_gets_one_line_naming_it(reader, damage, tmp_path):
    (tmp_path / "good").mkdir()
    good, targets = reader.make(tmp_path / "good")
    reader.read(good)  # the good file reads: the damage, not the maker, is what fails below
    if damage is None:
        return
    failures, n = [], 0
    for target in targets:
        original = good / target if target else good
        for kind, data in _damages(original).items():
            n += 1
            case = tmp_path / f"case-{n}-{kind.replace(' ', '-')}"
            shutil.copytree(good.parent, case)
            damaged = case / good.name / target if target else case / good.name
            damaged.write_bytes(data)
            before = _peak_mb()
            try:
                reader.read(case / good.name)
            except (ValueError, OSError) as err:
                message = str(err)
                if "\n" in message.strip():
                    failures.append(f"{target or good.name} {kind}: several lines: {message!r}")
                elif (target or good.name).split("/")[-1] not in message and good.name not in message:
                    failures.append(f"{target or good.name} {kind}: does not name the file: {message!r}")
            except BaseException as err:
                failures.append(f"{target or good.name} {kind}: {type(err).__name__}: {str(err)[:200]}")
            else:
                # inflated numbers that are not sizes (ids, counts of prompts) are legitimate values: what this
                # damage tests is that nothing is allocated by the sizes among them (the peak below)
                if kind not in (*reader.tolerates, "counts lie"):
                    failures.append(f"{target or good.name} {kind}: read without an error")
            grown = _peak_mb() - before
            if grown > PEAK_MB:
                failures.append(f"{target or good.name} {kind}: peak memory grew by {grown:.0f} MB")
    assert not failures, "\n".join(failures)
