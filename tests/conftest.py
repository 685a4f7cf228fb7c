"""Shared fixtures. Tests run offline on the CPU: hub lookups fail at once instead of hanging.

The suite runs in one worker process per core (pytest-xdist, `-n auto --dist loadfile` in pyproject.toml: a test file
stays on one worker, with its module fixtures), each with one torch thread: two threads per worker on a core each
would oversubscribe the machine, and OpenMP threads that wait for a descheduled sibling spin (a patching loop ran 30x
slower so). `OMP_NUM_THREADS=2 ./workbench test -n 0` runs it as before, in one process with two threads."""

import contextlib
import json
import os
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub, which reads it once
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported; the processes tests start inherit it

from jaxtyping import install_import_hook

import tests.typechecking  # noqa: F401  (imports interp.vocab.choices, unchecked: it is what the checker reads)

# Check shapes and types at run time in every test: functions and dataclasses of the library imported from
# here on are decorated (tests/typechecking.py says how). Nothing else of interp or sae may be imported above.
install_import_hook(["interp", "sae"], "tests.typechecking.checked")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # also if a plugin imported torch before the line above


MAX_WORKERS = 4
"""Workers for `-n auto`: each holds its own models (SmolLM2 and the zoo, about 2 GB), and past four the largest
test files, which stay on one worker, bound the run's time anyway."""


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity, within its cgroup's CPU quota where one is set (a
    container can see every core of its host and be allowed two)."""
    cpus = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    return cpus


def pytest_xdist_auto_num_workers(config):
    return min(usable_cpus(), MAX_WORKERS)


LONGEST_FIRST = (
    "test_app_browser.py",
    "test_app.py",
    "test_distributed.py",
    "test_trojans.py",
    "test_readme.py",
    "test_benchmarks.py",
    "test_recovery.py",
    "test_toy_models.py",
    "test_real_model.py",
    "test_real_editing.py",
)
"""The files that take longest (each 1-3 minutes on a 2-core CPU, `--durations`), handed to the workers first: a
file runs on one worker, and one begun last would keep its worker busy while the others sit idle. (pytest-xdist
would order files by their number of tests, putting test_readme.py, one test of two minutes, last:
`--no-loadscope-reorder` in pyproject.toml keeps this order.)"""


def pytest_sessionstart(session):
    session.config.started_at = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The app's time from a fresh server to its first SmolLM2 heatmap, where this run's browser test measured it."""
    timings = Path(__file__).resolve().parents[1] / "runs" / "app-screenshots" / "smollm2" / "timings.json"
    if timings.is_file() and timings.stat().st_mtime >= getattr(config, "started_at", float("inf")):
        seconds = json.loads(timings.read_text())["open_to_first_heatmap"]
        terminalreporter.write_line(
            f"app: first SmolLM2 heatmap {seconds} s after starting a fresh server, beside the other tests ({timings})"
        )


def pytest_collection_modifyitems(config, items):
    # a stable sort: every file's tests stay together and in order
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST else 99)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_suite():
    """After the last test: every process a test started has ended (tests/processes.py says how they are started).
    A survivor (a server left listening, a worker left training) is killed and fails the run."""
    import signal
    import time

    from tests.processes import descendants

    yield
    deadline = time.time() + 10  # a process stopped by the last test may still be exiting
    while (left := descendants()) and time.time() < deadline:
        time.sleep(0.2)
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes started by the tests outlived them: {left}"


@pytest.fixture(scope="session")
def lang_model():
    from interp.loading.model import load_model

    return load_model("zoo:lang-4l", device="cpu")


@pytest.fixture(scope="session")
def induction_model():
    from interp.loading.model import load_model

    return load_model("zoo:induction-2l", device="cpu")


@pytest.fixture
def no_unpickling(monkeypatch):
    """torch.load (how transformers and SAELens read .bin/.pt files) fails the test if anything calls it."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"torch.load called on {args[:1]}")

    monkeypatch.setattr(torch, "load", forbidden)


@pytest.fixture(scope="session")
def llama_folder(tmp_path_factory):
    """A tiny random Llama: RMSNorm, rotary, no biases, 4 query heads sharing 2 key/value heads, tied embeddings."""
    from tests.tiny_llama import build_llama

    folder = tmp_path_factory.mktemp("llama")
    build_llama(folder)
    return folder


@pytest.fixture(scope="session")
def llama_model(llama_folder):
    from interp.loading.model import load_model

    return load_model(llama_folder, device="cpu")


@pytest.fixture(scope="session")
def llama_twin(llama_folder, tmp_path_factory):
    """`llama_model` written with one key/value head per query head (the same function; tests/tiny_llama.py)."""
    import transformers as T

    from interp.loading.model import load_model
    from tests.tiny_llama import build_mha_twin

    folder = tmp_path_factory.mktemp("llama_twin")
    build_mha_twin(T.LlamaForCausalLM.from_pretrained(llama_folder), folder)
    return load_model(folder, device="cpu")
