"""Shared fixtures. Tests run offline on the CPU: hub lookups fail at once instead of hanging."""

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
