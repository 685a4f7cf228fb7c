"""Shared fixtures. Tests run offline on the CPU: hub lookups fail at once instead of hanging."""

import contextlib
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub, which reads it once
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from jaxtyping import install_import_hook

import tests.typechecking  # noqa: F401  (imports interp.core.choices, unchecked: it is what the checker reads)

# Check shapes and types at run time in every test: functions and dataclasses of the library imported from
# here on are decorated (tests/typechecking.py says how). Nothing else of interp or sae may be imported above.
install_import_hook(["interp", "sae"], "tests.typechecking.checked")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
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
    from interp.model import load_model

    return load_model("zoo:lang-4l", device="cpu")


@pytest.fixture(scope="session")
def induction_model():
    from interp.model import load_model

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
    from interp.model import load_model

    return load_model(llama_folder, device="cpu")


@pytest.fixture(scope="session")
def llama_twin(llama_folder, tmp_path_factory):
    """`llama_model` written with one key/value head per query head (the same function; tests/tiny_llama.py)."""
    import transformers as T

    from interp.model import load_model
    from tests.tiny_llama import build_mha_twin

    folder = tmp_path_factory.mktemp("llama_twin")
    build_mha_twin(T.LlamaForCausalLM.from_pretrained(llama_folder), folder)
    return load_model(folder, device="cpu")
