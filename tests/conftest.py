"""Shared fixtures. Tests run offline on the CPU: hub lookups fail at once instead of hanging."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub, which reads it once
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

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
