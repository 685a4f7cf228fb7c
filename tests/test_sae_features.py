"""Feature analysis: dashboards match direct encoding, feature DLA adds up, edits do what they claim."""

import pytest
import torch

from interp.loading.token_sources import token_rows
from sae.features import feature_acts, feature_dashboard, feature_dla, intervene, logit_effects, prompt_features
from tests.roundtrip import assert_round_trip
from tests.tolerances import EPS32, f32_tol, logit_scale

HOOK = "blocks.3.hook_resid_post"  # the last residual: a feature's decoder row goes straight to the unembedding


@pytest.fixture(scope="module")
def sae(lang_model):
    from interp.core.hooks import run_with_cache
    from interp.training.dictionaries import train_sae

    _, cache = run_with_cache(lang_model, token_rows(lang_model, n_tokens=8000, context=40, seed=3), [HOOK])
    acts = cache[HOOK].flatten(0, 1)
    gen = torch.Generator().manual_seed(0)
    trained = train_sae(
        lambda n: acts[torch.randint(0, len(acts), (n,), generator=gen)],
        128,
        d_sae=256,
        sparsity=8,
        training_samples=100_000,
        batch_size=1024,
    )
    trained.cfg.metadata.hook_name = HOOK
    return trained.eval()


@pytest.fixture(scope="module")
def tokens(lang_model):
    return token_rows(lang_model, n_tokens=1600, context=40)


def test_dashboard_contexts_are_the_strongest_activations(lang_model, sae, tokens, tmp_path):
    acts = feature_acts(lang_model, sae, tokens)
    feature = int(acts.flatten(0, 1).gt(0).sum(0).argmax())  # the most frequent feature
    dash = feature_dashboard(lang_model, sae, tokens, feature, acts=acts, k=5)
    values = [c.activation for c in dash.contexts]
    assert values == sorted(values, reverse=True) and len(values) == 5
    # exact: the dashboard copies its numbers out of the `acts` passed in, computing nothing
    assert values[0] == float(acts[..., feature].max()) == dash.max_activation
    for c in dash.contexts:  # each context's focus token carries the activation it reports
        assert c.token_acts[c.focus] == c.activation
        assert c.tokens[c.focus] == lang_model.tokenizer.decode([int(tokens[c.prompt, c.position])])
    assert sum(dash.hist_counts) == int((acts[..., feature] > 0).sum())
    # a float32 mean of 0s and 1s: an exact sum, rounded once by the division
    assert dash.density == pytest.approx(float((acts[..., feature] > 0).float().mean()), rel=EPS32)
    assert_round_trip(dash, tmp_path / "d.json")


def test_prompt_features_list_what_fires(lang_model, sae, tokens):
    res = prompt_features(lang_model, sae, tokens[0], top=3)
    acts = feature_acts(lang_model, sae, tokens[:1])[0]
    assert len(res.tokens) == tokens.shape[1] == len(res.features)
    for pos, listed in enumerate(res.features):
        assert [f for f, _ in listed] == acts[pos].topk(len(listed)).indices.tolist()
        assert len(listed) == min(3, int((acts[pos] > 0).sum()))


def test_steering_raises_the_promoted_tokens(lang_model, sae, tokens):
    # At the last residual a feature's write reaches the logits through the final LayerNorm only, so steering
    # it up must raise its most promoted token more than any other token (the LN scale is shared by all).
    feature = 0
    promoted, _ = logit_effects(lang_model, sae, feature, k=1)
    res = intervene(lang_model, sae, tokens[0], feature, mode="steer", value=20.0)
    assert res.most_increased[0][0] == promoted[0][0] and res.kl > 0


def test_ablating_a_silent_feature_changes_nothing(lang_model, sae, tokens):
    acts = feature_acts(lang_model, sae, tokens[:1])[0]
    silent = int((acts > 0).sum(0).eq(0).nonzero()[0])
    res = intervene(lang_model, sae, tokens[0], silent, mode="ablate")
    # The splice adds back the SAE's error, x - decode(f) + decode(f) = x up to rounding, so the two float32
    # log-softmaxes agree to a few units in the last place of the logits; each term p_i (before_i - after_i) of
    # the KL carries that much, and the p_i sum to 1 (the issue saw 1.04e-9 against a bound of 1e-9). The top
    # tokens are the same; their probabilities p_i carry p_i times that rounding.
    tol = f32_tol(logit_scale(lang_model, tokens[:1]), depth=4)
    assert res.kl == pytest.approx(0, abs=tol)
    assert [t for t, _ in res.top_after] == [t for t, _ in res.top_before]
    assert [p for _, p in res.top_after] == pytest.approx([p for _, p in res.top_before], abs=tol)
    with pytest.raises(ValueError, match="does not exist"):
        intervene(lang_model, sae, tokens[0], 10_000)


def test_feature_dla_adds_up_to_the_logit_difference(lang_model, sae, tmp_path):
    from interp.tasks.generators import ioi_task

    task = ioi_task(lang_model, n_prompts=8)
    res = feature_dla(lang_model, sae, task, top_k=10)
    total = res.all_features_total + sum(res.other.values()) + res.unembed_bias
    # float32 projections of 128 dimensions summed over 256 features, against the model's own final norm and
    # unembedding: rounding of the size of the logits, 64 eps of them
    tol = f32_tol(logit_scale(lang_model, task.clean_tokens), depth=64)
    assert total == pytest.approx(res.logit_diff, abs=tol)
    assert res.other["later layers"] == 0  # the hook is the final residual: final - x of one cached tensor
    assert_round_trip(res, tmp_path / "dla.json")
    # With an SAE that reconstructs exactly, the features carry everything and the error nothing; each
    # dimension's pair of latents (relu(x_i), relu(-x_i)) writes x_i along axis i.
    from tests.test_sae_eval import _identity_sae

    exact = feature_dla(lang_model, _identity_sae(128), task, hook=HOOK)
    # exact in float32 whatever the kernels: every product is by 1 or 0, every sum has one nonzero term
    assert exact.other["sae error"] == 0 and exact.other["sae decoder bias"] == 0
    assert exact.all_features_total + exact.unembed_bias == pytest.approx(exact.logit_diff, abs=tol)


def test_sae_features_command(tmp_path, sae):
    import json

    from sae.cli import main

    sae.save_inference_model(tmp_path / "sae")
    out = tmp_path / "features"
    args = [
        "features",
        str(tmp_path / "sae"),
        "--model",
        "zoo:lang-4l",
        "--device",
        "cpu",
        "--n-tokens",
        "800",
        "--feature",
        "3",
        "--prompt",
        "When Mary and John went to the store , John gave a drink to",
        "--steer",
        "15",
        "--task",
        "ioi",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    for name in ("feature_3", "prompt_features", "intervention", "feature_dla"):
        assert (out / f"{name}.json").is_file() and (out / f"{name}.html").stat().st_size > 0, name
    assert json.loads((out / "intervention.json").read_text())["mode"] == "steer"
    assert (
        main(
            [
                "features",
                str(tmp_path / "sae"),
                "--model",
                "zoo:lang-4l",
                "--device",
                "cpu",
                "--prompt",
                "zzz qqq",
                "--out",
                str(out),
            ]
        )
        == 2
    )


def test_llama_features(llama_model, tmp_path):
    # A random SAE on the tiny Llama's last residual (RMSNorm, tied embeddings, no biases).
    from interp.tasks.generators import induction_task
    from tests.test_sae_eval import _random_sae

    hook = "blocks.1.hook_resid_post"
    sae = _random_sae(hook)
    tokens = torch.randint(3, 64, (6, 12), generator=torch.Generator().manual_seed(0))
    acts = feature_acts(llama_model, sae, tokens)
    assert acts.shape == (6, 12, 64)
    feature = int(acts.flatten(0, 1).gt(0).sum(0).argmax())
    dash = feature_dashboard(llama_model, sae, tokens, feature, acts=acts, k=3)
    assert dash.contexts[0].activation == float(acts[..., feature].max())  # copied out of `acts`: exact
    assert len(prompt_features(llama_model, sae, tokens[0], top=2).features) == 12
    task = induction_task(llama_model, n_prompts=4, seq_len=6)
    res = feature_dla(llama_model, sae, task, top_k=5)
    total = res.all_features_total + sum(res.other.values()) + res.unembed_bias
    # as on lang-4l: 64 eps of the logits (~4 here; the logit difference itself is ~0.01)
    tol = f32_tol(logit_scale(llama_model, task.clean_tokens), depth=64)
    assert total == pytest.approx(res.logit_diff, abs=tol) and res.unembed_bias == 0.0
    assert res.other["later layers"] == 0  # the hook is the final residual: final - x of one cached tensor
    # Steered hard at the last residual, a feature's decoder row swamps the rest; RMSNorm rescales it and
    # the unembedding reads it, so its most promoted token becomes the prediction.
    promoted, _ = logit_effects(llama_model, sae, feature, k=1)
    steered = intervene(llama_model, sae, tokens[0], feature, mode="steer", value=1e4)
    assert steered.top_after[0][0] == promoted[0][0] and steered.kl > 0
    assert_round_trip(res, tmp_path / "dla.json")
