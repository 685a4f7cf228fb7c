"""The catalogue of bad input (docs/BAD_INPUTS.md), run: every row's command fails with exit code 2 and one
line that contains the row's text, no traceback. A new bad input gets a new row in that file."""

import json
import random
import re
import shlex
import shutil
import struct
from pathlib import Path

import pytest
import torch

from tests import tiny_checkpoints

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_SAE = ROOT / "interp" / "zoo" / "saes" / "lang-4l-l2-topk16"
JOB = """model = "zoo:lang-4l"
hook = "blocks.2.hook_resid_post"
training_tokens = 40960
batch_size = 1024
dataset_tokens = 4000
shard_tokens = 2048
device = "cpu"
out = "{out}"
[[sae]]
architecture = "topk"
d_sae = 1024
sparsity = 16
lr = 0.001
"""


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in (ROOT / "docs" / "BAD_INPUTS.md").read_text().splitlines():
        match = re.fullmatch(r"\| `(.+)` \| (.+) \|", line.strip())
        if match:
            rows.append((match.group(1), match.group(2).strip()))
    return rows


ROWS = _rows()


def test_the_catalogue_is_read():
    assert len(ROWS) >= 40


def _job_config(tmp: Path, change: str) -> Path:
    key = change.split("=")[0].strip()
    lines = JOB.format(out=tmp / "job").splitlines()
    at = next((i for i, line in enumerate(lines) if line.split("=")[0].strip() == key), None)
    if at is None:
        lines.insert(lines.index("[[sae]]"), change)
    else:
        lines[at] = change
    path = tmp / f"job-{abs(hash(change))}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _placeholders(tmp: Path, command: str) -> str:
    """The files each placeholder stands for, made on demand."""
    if "{file}" in command:
        (tmp / "file.txt").write_text("not a folder")
        command = command.replace("{file}", str(tmp / "file.txt"))
    if "{junk_gguf}" in command:
        (tmp / "model.gguf").write_bytes(b"PK\x03\x04 a zip file named .gguf")
        command = command.replace("{junk_gguf}", str(tmp / "model.gguf"))
    if "{nested_json}" in command:  # 50,000 nested brackets: Python's JSON decoder recurses once per level
        (tmp / "nested.json").write_text("[" * 50_000 + "]" * 50_000)
        command = command.replace("{nested_json}", str(tmp / "nested.json"))
    if "{random_file}" in command:  # 4 kB of random bytes: not text, not JSON, not any format
        (tmp / "random.json").write_bytes(random.Random(0).randbytes(4096))
        command = command.replace("{random_file}", str(tmp / "random.json"))
    if "{nested_toml}" in command:
        (tmp / "nested.toml").write_text("model = " + "[" * 100_000 + "]" * 100_000 + "\n")
        command = command.replace("{nested_toml}", str(tmp / "nested.toml"))
    if "{sizeless_gguf}" in command:
        from tests.test_gguf import write_gguf

        write_gguf(tmp / "sizeless.gguf", "llama")
        command = command.replace("{sizeless_gguf}", str(tmp / "sizeless.gguf"))
    if "{huge_graph}" in command:  # a small file whose logit node claims 10 million layers
        graph = {
            "metadata": {"prompt_tokens": ["a", "b"]},
            "nodes": [{"node_id": "L", "feature_type": "logit", "layer": 10_000_001, "feature": 1, "ctx_idx": 1,
                       "clerp": '"b"', "token_prob": 1.0}],
            "links": [],
        }  # fmt: skip
        (tmp / "huge.json").write_text(json.dumps(graph))
        command = command.replace("{huge_graph}", str(tmp / "huge.json"))
    command = command.replace("{zoo_folder}", str(ROOT / "interp" / "zoo" / "lang-4l"))
    command = command.replace("{unwritable}", "/proc/interp-results")  # /proc takes no new folders, even as root
    if "{pickle_model}" in command:
        hf = tiny_checkpoints.build("gpt2", tmp / "pickled")
        (tmp / "pickled" / "model.safetensors").unlink()
        torch.save(hf.state_dict(), tmp / "pickled" / "pytorch_model.bin")
        command = command.replace("{pickle_model}", str(tmp / "pickled"))
    if "{narrow_sae}" in command:
        from sae_lens import StandardSAE, StandardSAEConfig

        sae = StandardSAE(StandardSAEConfig(d_in=64, d_sae=128))
        sae.cfg.metadata.hook_name = "blocks.2.hook_resid_post"
        sae.save_model(str(tmp / "narrow"))
        command = command.replace("{narrow_sae}", str(tmp / "narrow"))
    for name, damage in (("truncated_sae", "truncate"), ("mismatched_sae", "cfg"), ("lying_sae", "shape")):
        if "{" + name + "}" in command:
            folder = shutil.copytree(BUNDLED_SAE, tmp / name)
            weights = folder / "sae_weights.safetensors"
            if damage == "truncate":
                weights.write_bytes(weights.read_bytes()[:-100])
            elif damage == "shape":  # the header's first tensor claims a million times its rows; data unchanged
                data = weights.read_bytes()
                (length,) = struct.unpack("<Q", data[:8])
                header = json.loads(data[8 : 8 + length])
                first = next(k for k in header if k != "__metadata__")
                header[first]["shape"][0] *= 1_000_000
                text = json.dumps(header).encode()
                text += b" " * (-len(text) % 8)
                weights.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
            else:
                cfg = json.loads((folder / "cfg.json").read_text())
                (folder / "cfg.json").write_text(json.dumps({**cfg, "d_sae": cfg["d_sae"] * 2}))
            command = command.replace("{" + name + "}", str(folder))
    match = re.search(r"\{config:(.+?)\}", command)
    if match:
        command = command.replace(match.group(0), shlex.quote(str(_job_config(tmp, match.group(1)))))
    return command


@pytest.mark.parametrize("command, message", ROWS, ids=[c for c, _ in ROWS])
def test_bad_input_gets_one_clear_line(command, message, tmp_path, monkeypatch, capsys):
    from interp.cli import main as interp_main
    from sae.cli import main as sae_main

    words = shlex.split(_placeholders(tmp_path, command))
    while "=" in words[0]:  # VAR=value before the command
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # runs/ of a command that did not fail would land here, not in the project
    program, argv = words[0], words[1:]
    main = {"interp": interp_main, "sae": sae_main}[program]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith((f"{program}: error:", f"{program} ")), (
        err
    )
