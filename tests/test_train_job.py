"""SAE training jobs: TOML configs, checkpoints, and resuming a job whose process was killed."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sae.train_config import TrainJobConfig
from sae.train_job import BatchOrder
from tests.processes import started
from tests.tolerances import assert_f32_close

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
model = "zoo:lang-4l"
hook = "blocks.2.hook_resid_post"
training_tokens = 409_600
batch_size = 1024
dataset_tokens = 4000
checkpoint_every = 102_400
shard_tokens = 1024
device = "cpu"
out = "{out}"
[[sae]]
d_sae = 256
sparsity = 8
"""


def _config(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(CONFIG.format(out=tmp_path / name))
    return path


def _write_cache(folder: Path, sizes: list[int]) -> None:
    """A sharded cache in collect_activations' layout whose rows are their own index (0, 1, 2, ...)."""
    from safetensors.torch import save_file

    from interp.observe.activations import META

    folder.mkdir()
    names, first = [], 0
    for i, size in enumerate(sizes):
        names.append(f"shard-{i:05d}.safetensors")
        save_file(
            {"h": torch.arange(first, first + size, dtype=torch.float32)[:, None].repeat(1, 3)}, str(folder / names[-1])
        )
        first += size
    (folder / META).write_text(
        json.dumps({"hooks": ["h"], "n_rows": first, "shards": names, "label_names": None, "model": "m"})
    )


def test_batch_order_is_a_function_of_the_step_and_streams_shards(tmp_path):
    _write_cache(tmp_path / "cache", [4, 4, 2])
    a, b = BatchOrder(tmp_path / "cache", "h", 4, seed=1), BatchOrder(tmp_path / "cache", "h", 4, seed=1)
    assert (a.n_rows, a.d_in) == (10, 3)
    first = [a.batch(i) for i in range(5)]  # 20 rows: two full passes over the 10
    assert a.shard_loads == 6  # each shard read once per pass, however batches straddle them
    assert torch.equal(b.batch(3), first[3])  # asked for out of order, from a fresh object
    seen = torch.cat(first)[:, 0]
    assert sorted(seen[:10].tolist()) == list(range(10)) and sorted(seen[10:].tolist()) == list(range(10))
    assert not torch.equal(seen[:10], seen[10:])  # each pass has its own order
    assert not torch.equal(BatchOrder(tmp_path / "cache", "h", 4, seed=2).batch(0), first[0])


def test_list_values_in_an_sae_table_make_a_grid_sweep(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        '[[sae]]\nd_sae = [256, 512]\nsparsity = [8, 16]\nlr = 2e-3\n[[sae]]\narchitecture = "standard"\nsparsity = 5\n'
    )
    cfg = TrainJobConfig.from_toml(path)
    assert [s.name for s in cfg.saes] == ["topk-256-8", "topk-256-16", "topk-512-8", "topk-512-16", "standard-1024-5"]
    assert {s.lr for s in cfg.saes[:4]} == {2e-3}
    path.write_text('[[sae]]\nname = "one"\nsparsity = [8, 16]\n')
    with pytest.raises(ValueError, match="cannot set one name"):
        TrainJobConfig.from_toml(path)
    path.write_text("batch_size = 4096\nshard_tokens = 1000\n")
    with pytest.raises(ValueError, match=r"shard_tokens .1000. must be at least batch_size"):
        TrainJobConfig.from_toml(path)


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "zoo:lang-4l"\nlearning_rate = 3\n')
    with pytest.raises(ValueError, match="unknown keys learning_rate"):
        TrainJobConfig.from_toml(bad)
    bad.write_text('[[sae]]\narchitecture = "magic"\n')
    with pytest.raises(
        ValueError,
        match="architecture must be one of 'topk', 'batchtopk', 'standard', 'gated', 'jumprelu', 'transcoder', "
        "'skip_transcoder'; got 'magic'",
    ):
        TrainJobConfig.from_toml(bad)
    bad.write_text("model = \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        TrainJobConfig.from_toml(bad)


def test_a_killed_job_resumes_where_it_stopped(tmp_path, no_unpickling):
    # Kill the real process (SIGKILL) once a checkpoint exists, rerun the same command, and compare with a
    # job that was never interrupted: same token count, a log without repeats, and the same weights.
    from interp.loading.saes import load_sae
    from sae.cli import main

    killed_cfg = _config(tmp_path, "killed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sae.cli", "train", str(killed_cfg)]
    checkpoints = tmp_path / "killed" / "topk-256-8" / "checkpoints"
    with started(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        deadline = time.time() + 180
        while time.time() < deadline and not any(p.name.isdigit() for p in checkpoints.glob("*")):
            assert proc.poll() is None, "the job ended before its first checkpoint"
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    first = sorted(int(p.name) for p in checkpoints.glob("*") if p.name.isdigit())
    assert first and first[-1] < 409_600, "killed too late to test resuming"
    assert not (tmp_path / "killed" / "topk-256-8" / "sae").exists()

    assert main(["train", str(killed_cfg)]) == 0  # resumes
    folder = tmp_path / "killed" / "topk-256-8"
    last = folder / "checkpoints" / "409600"
    state = json.loads((last / "trainer_state.json").read_text())["__dict__"]
    assert state["n_training_samples"] == 409_600 and state["n_training_steps"] == 400
    assert not list(last.glob("*.pt")) and not list(last.glob("*.bin"))  # nothing pickled
    steps = [json.loads(line)["step"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 400  # nothing logged twice, nothing missing at the end
    assert (folder / "training.html").stat().st_size > 0

    assert main(["train", str(_config(tmp_path, "straight"))]) == 0
    resumed = load_sae(folder / "sae")
    straight = load_sae(tmp_path / "straight" / "topk-256-8" / "sae")
    # the same batches in the same order from the same state, through the same kernels: equal up to a few eps of
    # each tensor's largest weight (measured equal; 400 steps would magnify a change of summation order far more)
    for name, p in straight.state_dict().items():
        assert_f32_close(resumed.state_dict()[name], p, depth=32, msg=name)
    assert resumed.cfg.metadata.hook_name == "blocks.2.hook_resid_post"


def test_a_cache_from_other_settings_is_refused(tmp_path):
    from dataclasses import replace

    from sae.harvest import cached_activations

    cfg = TrainJobConfig(
        dataset_tokens=480, context=48, batch_size=128, shard_tokens=200, device="cpu", out=str(tmp_path / "job")
    )
    folder = cached_activations(cfg)
    order = BatchOrder(folder, cfg.hook, cfg.batch_size, cfg.seed)
    # 10 rows of 48 tokens, each starting with BOS, which an SAE does not read (sae.positions)
    assert (order.n_rows, order.d_in, len(order.paths)) == (480 - 10, 128, 3)
    assert cached_activations(cfg) == folder  # reused as it is
    with pytest.raises(ValueError, match="dataset_tokens 480 -> 960"):
        cached_activations(replace(cfg, dataset_tokens=960))


def test_a_job_folder_in_use_is_refused(tmp_path):
    from sae.train_job import job_lock, run_train_job

    cfg = TrainJobConfig.from_toml(_config(tmp_path, "busy"))
    with job_lock(Path(cfg.out)):  # another job holds the folder (an flock: another process, or this one)
        with pytest.raises(ValueError, match=rf"job folder .*busy is in use by process {os.getpid()} on "):
            run_train_job(cfg)
        assert not (Path(cfg.out) / "activations").exists()  # refused before touching the cache
    with job_lock(Path(cfg.out)):  # released at the end of the block: the folder can be taken again
        pass


def test_a_half_written_last_log_line_does_not_block_resume(tmp_path):
    from sae.train_job import read_log

    folder = tmp_path / "sae"
    folder.mkdir()
    (folder / "log.jsonl").write_text('{"step": 20, "tokens": 20480, "loss": 1.0}\n{"step": 40, "tok')
    assert [e["step"] for e in read_log(folder)] == [20]  # the torn line is written again on resume
    (folder / "log.jsonl").write_text('{"step": 20, "tok\n{"step": 40, "tokens": 40960, "loss": 1.0}\n')
    with pytest.raises(ValueError, match=r"log\.jsonl line 1 is not valid JSON.*damaged before its last line"):
        read_log(folder)


def test_stray_temporary_checkpoints_are_cleaned(tmp_path):
    from sae.checkpoints import checkpoints

    root = tmp_path / "checkpoints"
    (root / ".tmp-204800").mkdir(parents=True)  # a kill during a checkpoint's write
    (root / "102400").mkdir()
    assert checkpoints(tmp_path) == [root / "102400"] and not (root / ".tmp-204800").exists()


def test_collecting_the_activations_reports_progress(tmp_path):
    from sae.harvest import COLLECTING, cached_activations

    cfg = TrainJobConfig.from_toml(_config(tmp_path, "progress"))
    heard = []
    cached_activations(cfg, progress=lambda name, done, total, line: heard.append((name, done, total, line)))
    assert heard and {name for name, *_ in heard} == {COLLECTING}
    done = [d for _, d, _, _ in heard]
    # every row of tokens, in order (whole rows of `context`: the last partial row is dropped)
    assert done == sorted(done) and done[-1] == heard[-1][2] > cfg.dataset_tokens - cfg.context
