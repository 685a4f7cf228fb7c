"""SAE jobs across worker processes (sae.distributed): real torchrun runs with 2 gloo workers on the CPU,
compared with one process training from the same cache."""

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sae.distributed import Workers
from sae.train_job import BatchOrder
from tests.processes import listening_sockets, popen, stop
from tests.test_train_job import _write_cache
from tests.tolerances import PER_LAYER, f32_tol

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
CONFIG = """
model = "zoo:lang-4l"
hook = "blocks.2.hook_resid_post"
training_tokens = {tokens}
batch_size = 1024
dataset_tokens = 4800
context = 48
shard_tokens = 1500
checkpoint_every = {every}
log_every = 5
device = "cpu"
out = "{out}"
[[sae]]
d_sae = 256
sparsity = 8
[[sae]]
architecture = "standard"
d_sae = 256
sparsity = 2
"""
NAMES = ("topk-256-8", "standard-256-2")


def _config(tmp_path: Path, name: str, tokens: int = 30_720, every: int = 10_240) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(CONFIG.format(out=tmp_path / name, tokens=tokens, every=every))
    return path


def _workers(config: Path, *args: str, **kwargs) -> subprocess.Popen:
    """`sae train CONFIG --workers 2 ARGS` as a user runs it (torchrun, two gloo workers)."""
    command = [sys.executable, "-m", "sae.cli", "train", str(config), "--workers", "2", *args]
    return popen(command, cwd=ROOT, text=True, **{"env": ENV, **kwargs})


def _finished(config: Path, *args: str) -> str:
    """The output of a `--workers 2` run that must succeed."""
    run = _workers(config, *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = run.communicate(timeout=600)
    finally:
        stop(run)  # torchrun and both workers, also when the test fails or is interrupted here
    assert run.returncode == 0, output
    return output


def _single(config: Path, cache_from: Path) -> None:
    """One process training the same job from a copy of `cache_from`'s activation cache."""
    from sae.cli import main

    shutil.copytree(cache_from / "activations", config.parent / config.stem / "activations")  # out = the name
    assert main(["train", str(config)]) == 0


LR = 1e-3  # the learning rate of every SAE here (sae.train_config's default)


def _assert_same_weights(a: Path, b: Path, *, exact: bool = False, names=NAMES, steps: int = 30) -> None:
    """The SAEs two runs trained hold the same weights: bit for bit where both ran the same kernels in the same
    order (`exact`). Else up to float32 rounding, which Adam magnifies: workers sum a batch's gradient in parts,
    and where an entry's gradient is near zero its step lr * m / sqrt(v) is a ratio of two tiny moments that
    rounding changes by a fraction of lr. So the median entry within rounding of its tensor's largest entry, and
    every entry within 1% of the `steps` steps' largest total, `steps * LR`. (Measured with AVX-512 kernels: every
    entry within 4.7e-7 after 30 steps; with AVX2 ones, 0.2% of the entries beyond rounding, the largest 2.5e-5 =
    0.08% of steps * LR; docs/distributed.md.) A real difference between the runs, such as a worker's share of
    the batch lost, moves most entries by up to lr per step."""
    from interp.loading.saes import load_sae

    for name in names:
        left, right = load_sae(a / name / "sae").state_dict(), load_sae(b / name / "sae").state_dict()
        for key, value in left.items():
            if exact:
                assert torch.equal(right[key], value), f"{name} {key}"
                continue
            diff = (right[key] - value).abs()
            rounding = f32_tol(value.abs().max(), depth=30 * PER_LAYER)
            assert float(diff.median()) <= rounding, f"{name} {key}: median difference {diff.median():.2g}"
            assert float(diff.max()) <= 0.01 * LR * steps, f"{name} {key}: largest difference {diff.max():.2g}"


def test_workers_split_work_into_contiguous_parts():
    parts = [Workers(rank, 3).part(10) for rank in range(3)]
    assert parts == [(0, 4), (4, 7), (7, 10)]
    assert Workers().part(10) == (0, 10)


def test_the_workers_slices_of_a_batch_make_the_batch(tmp_path):
    _write_cache(tmp_path / "cache", [6, 6, 4])
    whole = BatchOrder(tmp_path / "cache", "h", 8, seed=3)
    for step in range(5):  # batches straddling shards and passes
        slices = [BatchOrder(tmp_path / "cache", "h", 8, seed=3).batch(step, Workers(r, 2)) for r in range(2)]
        assert [len(s) for s in slices] == [4, 4]
        assert torch.equal(torch.cat(slices), whole.batch(step))


def test_a_batch_that_does_not_divide_among_the_workers_is_refused(tmp_path, capsys):
    from sae.cli import main
    from sae.train_config import TrainJobConfig
    from sae.train_job import train_one

    config = _config(tmp_path, "uneven")
    cfg = TrainJobConfig.from_toml(config)
    with pytest.raises(ValueError, match=r"batch_size \(1024\) must divide evenly among the 3 workers"):
        train_one(cfg, cfg.saes[0], tmp_path / "no-cache", workers=Workers(0, 3))
    assert main(["train", str(config), "--workers", "0"]) == 2
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err


def test_data_parallel_training_equals_one_process(tmp_path):
    # Two gloo workers harvest the activations (each its share of the token rows) and train both SAEs
    # data-parallel; one process then trains from a copy of that cache. Same global batches, same order.
    from interp.observe.activations import ActivationDataset
    from sae.harvest import cached_activations
    from sae.train_config import TrainJobConfig

    _finished(_config(tmp_path, "ddp"), "--split", "data")
    ddp = tmp_path / "ddp"
    assert sorted(p.name for p in (ddp / "activations").glob("part-*")) == ["part-0", "part-1"]

    # the harvest holds the rows one process collects, in the same order
    alone = cached_activations(TrainJobConfig.from_toml(_config(tmp_path, "harvest")))
    one, two = ActivationDataset.load(alone), ActivationDataset.load(ddp / "activations")
    hook = "blocks.2.hook_resid_post"
    assert torch.equal(one.features(hook), two.features(hook))
    assert torch.equal(one.prompt_index, two.prompt_index) and torch.equal(one.token, two.token)

    _single(_config(tmp_path, "single"), ddp)
    _assert_same_weights(ddp, tmp_path / "single")
    for name in NAMES:  # the lead's log is the global batch's: the same numbers as one process logs
        logs = [
            [json.loads(x) for x in (tmp_path / run / name / "log.jsonl").read_text().splitlines()]
            for run in ("ddp", "single")
        ]
        assert [e["step"] for e in logs[0]] == [e["step"] for e in logs[1]] == [5, 10, 15, 20, 25, 30]
        for a, b in zip(*logs, strict=True):
            assert a["l0"] == pytest.approx(b["l0"], rel=1e-4)
            # explained variance is 1 - a ratio of float32 sums: rounding relative to 1, not to what is left
            assert a["explained_variance"] == pytest.approx(b["explained_variance"], abs=1e-4)
        state = [
            json.loads((tmp_path / run / name / "checkpoints" / "30720" / "trainer_state.json").read_text())
            for run in ("ddp", "single")
        ]
        assert state[0]["__dict__"]["n_training_steps"] == state[1]["__dict__"]["n_training_steps"] == 30


def test_saes_dealt_out_to_workers_equal_one_process(tmp_path):
    output = _finished(_config(tmp_path, "dealt"))  # auto: 2 SAEs on 2 workers, one each
    assert all(f"{name}: 30720 tokens" in output for name in NAMES)  # each worker reports its own SAE
    _single(_config(tmp_path, "single"), tmp_path / "dealt")
    _assert_same_weights(tmp_path / "dealt", tmp_path / "single")


def test_a_job_checkpointed_by_two_workers_continues_in_one_process(tmp_path):
    # 2 workers train 15 steps; the job is then lengthened to 30 and rerun by one process, which resumes from
    # the workers' checkpoint and ends where one process training all 30 steps ends
    from sae.cli import main
    from sae.train_config import TrainJobConfig
    from sae.train_job import run_train_job

    _finished(_config(tmp_path, "moved", tokens=15_360, every=15_360), "--split", "data")
    data = json.loads((tmp_path / "moved" / NAMES[0] / "checkpoints" / "15360" / "data.json").read_text())
    assert data == {
        "next_step": 15,
        "batch_size": 1024,
        "seed": 0,
        "workers": 2,
        "next_rows": [[15_360, 15_872], [15_872, 16_384]],
    }
    assert main(["train", str(_config(tmp_path, "moved", tokens=30_720, every=15_360))]) == 0
    _single(_config(tmp_path, "single"), tmp_path / "moved")
    _assert_same_weights(tmp_path / "moved", tmp_path / "single")

    longer = TrainJobConfig.from_toml(_config(tmp_path, "moved", tokens=61_440))
    with pytest.raises(ValueError, match=r"other settings \(batch_size 1024 -> 512\)"):  # another batch order
        run_train_job(replace(longer, batch_size=512))


def _worker_pids(launcher: int) -> dict[int, int]:
    """rank -> process id of the workers torchrun started under `launcher` (read from /proc)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = dict(item.split("=", 1) for item in (proc / "environ").read_text().split("\0") if "=" in item)
        except OSError:
            continue
        if environ.get("TORCHELASTIC_RUN_ID") and environ.get("INTERP_TEST_LAUNCHER") == str(launcher):
            found[int(environ["RANK"])] = int(proc.name)
    return found


def test_a_dead_worker_ends_the_job_and_a_rerun_resumes_it(tmp_path):
    config = _config(tmp_path, "killed", tokens=76_800, every=7_168)  # the kill lands at step 7 of 75
    tag = str(os.getpid())
    env = {**ENV, "INTERP_TEST_LAUNCHER": tag}
    run = _workers(config, "--split", "data", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        checkpoints = tmp_path / "killed" / NAMES[0] / "checkpoints"
        deadline = time.time() + 300
        while time.time() < deadline and not any(p.name.isdigit() for p in checkpoints.glob("*")):
            assert run.poll() is None, "the job ended before its first checkpoint"
            time.sleep(0.05)
        pids = _worker_pids(int(tag))
        assert set(pids) == {0, 1}
        # every socket the job listens on (torchrun's rendezvous store, the workers' store, gloo's pairs) is on
        # loopback: nobody else on the network can reach a job on one machine (sae.binding)
        sockets = listening_sockets(run.pid)
        owners = {pid for pid, _, _ in sockets}
        assert set(pids.values()) < owners, sockets  # both workers and torchrun (the rendezvous) listen
        assert all(ipaddress.ip_address(address).is_loopback for _, address, _ in sockets), sockets
        os.kill(pids[1], signal.SIGKILL)
        killed_at = time.time()
        _, errors = run.communicate(timeout=120)
        ended = time.time() - killed_at
    finally:
        stop(run)
    assert run.returncode != 0 and ended < 60, (ended, errors)
    assert "a worker of the job failed" in errors and "run the same command again to resume" in errors
    assert not (tmp_path / "killed" / NAMES[0] / "sae").exists(), "killed too late to test resuming"

    _finished(config, "--split", "data")
    log = [json.loads(x)["step"] for x in (tmp_path / "killed" / NAMES[0] / "log.jsonl").read_text().splitlines()]
    assert log == list(range(5, 76, 5))  # resumed from the checkpoint: no step logged twice or missed

    # against the same job run through without a kill: resuming is exact (the same state, the same batches).
    # (Not against one process: over hundreds of steps SAE training magnifies float rounding, 1e-7 at step 30
    # to 1e-2 at step 300, as it magnifies a 1e-7 change of the initial weights; docs/distributed.md.)
    straight = _config(tmp_path, "straight", tokens=76_800, every=7_168)
    shutil.copytree(tmp_path / "killed" / "activations", tmp_path / "straight" / "activations")
    _finished(straight, "--split", "data")
    _assert_same_weights(tmp_path / "killed", tmp_path / "straight", exact=True)


TRANSCODERS = """
model = "zoo:lang-4l"
training_tokens = 10_240
batch_size = 1024
dataset_tokens = 4800
shard_tokens = 1500
checkpoint_every = 5120
device = "cpu"
out = "{out}"
[[sae]]
architecture = ["transcoder", "skip_transcoder"]
layer = 1
d_sae = 128
sparsity = 4
"""


def test_transcoders_dealt_out_to_workers_equal_one_process(tmp_path):
    from interp.loading.saes import load_sae
    from sae.train_config import TrainJobConfig
    from sae.train_job import deals_out_saes

    configs = {}
    for name in ("dealt", "single"):
        configs[name] = tmp_path / f"{name}.toml"
        configs[name].write_text(TRANSCODERS.format(out=tmp_path / name))
    _finished(configs["dealt"], "--split", "saes")
    _single(configs["single"], tmp_path / "dealt")
    names = ("transcoder-L1-128-4", "skip_transcoder-L1-128-4")
    assert "W_skip" in load_sae(tmp_path / "dealt" / names[1] / "sae").state_dict()
    _assert_same_weights(tmp_path / "dealt", tmp_path / "single", names=names, steps=10)
    # BatchTopK picks latents over the whole batch: data-parallel workers would each pick over their share
    cfg = TrainJobConfig.from_toml(configs["single"])
    with pytest.raises(ValueError, match="choose their active latents over the whole batch"):
        deals_out_saes(cfg, 2, "data")
    with pytest.raises(ValueError, match="choose their active latents over the whole batch"):
        deals_out_saes(cfg, 4, "auto")  # fewer SAEs than workers: auto would train them data-parallel
    assert deals_out_saes(cfg, 2, "auto") and deals_out_saes(cfg, 1, "data") is False


def test_a_binding_is_an_interface_or_one_of_its_addresses():
    from sae.binding import BIND_ENV, resolve_binding

    loopback = resolve_binding()  # the default: what a job on one machine needs
    assert loopback.address == "127.0.0.1" and resolve_binding(loopback.interface) == loopback
    assert resolve_binding("127.0.0.1") == loopback
    with pytest.raises(ValueError, match=rf"{BIND_ENV} = '10.255.255.254' is neither .* \(it has: .*127.0.0.1"):
        resolve_binding("10.255.255.254")  # an address this machine does not have
