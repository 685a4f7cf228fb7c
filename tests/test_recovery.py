"""SAE recovery of known features, and superposition statistics of SAE decoders."""

import pytest
import torch

from interp.results import DecoderGeometryResult, load_json
from sae.decoder_geometry import decoder_geometry
from sae.recovery import RecoveryConfig, best_cosines, known_dictionary_recovery, toy_model_recovery
from tests.roundtrip import assert_round_trip


def test_best_cosines_on_known_decoders():
    true = torch.randn(50, 16, generator=torch.Generator().manual_seed(0))
    shuffled = 3 * true[torch.randperm(50)]  # same directions, other order and scale, plus extra latents
    decoder = torch.cat([shuffled, torch.randn(20, 16)])
    torch.testing.assert_close(best_cosines(true, decoder), torch.ones(50))
    orthogonal = torch.eye(16)[:8]
    # orthogonal unit vectors: cosines of 0 up to rounding relative to a cosine's scale, 1 (1e-6 is 8 eps)
    assert best_cosines(torch.eye(16)[8:], orthogonal).abs().max() < 1e-6


def test_topk_sae_recovers_a_known_dictionary(tmp_path):
    # The target: d=256, 512 true features, 5 active per sample; an SAE with at least 512 latents
    # recovers >= 95% of the features at cosine > 0.9, on the CPU in under 2 minutes. Measured with 1024
    # latents, k=5: 400k samples 99.2% recovered, MMCS 0.992, 26 s on one thread (1M, the default: 100%,
    # MMCS 0.997, 40 s on 2 cores). (512 latents reach 91%.)
    cfg = RecoveryConfig(d_sae=(1024,), sparsity=(5,), training_samples=400_000)
    res = known_dictionary_recovery(cfg)
    assert res.fraction_recovered[0] >= 0.95, res
    # The 2 minutes, with a margin for slower CPUs: 1M samples took 153 s under generic kernels
    # (ATEN_CPU_CAPABILITY=default, docs/testing.md), 65 s with vector ones; 400k take 26 s with them
    assert res.seconds[0] < 120
    # k=5 keeps 5 latents, but the number of true features on is Poisson-like around 5 (up to ~12), so
    # reconstruction is imperfect although every direction is found: measured explained variance 0.82.
    assert 4.5 <= res.l0[0] <= 5 and res.explained_variance[0] > 0.75
    assert_round_trip(res, tmp_path / "r.json")


def test_a_narrow_sae_cannot_recover_every_feature():
    # Half as many latents as true features: at most half can each have a latent of their own.
    cfg = RecoveryConfig(
        d_model=64,
        n_features=128,
        active_per_sample=3,
        d_sae=(64, 256),
        sparsity=(3,),
        training_samples=400_000,
        batch_size=1024,
    )
    res = known_dictionary_recovery(cfg)
    assert res.fraction_recovered[0] <= 0.5 < res.fraction_recovered[1]
    assert res.mmcs[0] < res.mmcs[1]


def test_correlated_features_are_recovered_too():
    # Random pairwise firing correlations up to 0.5 (SAELens's generator); measured: 91% recovered vs 97% independent.
    cfg = RecoveryConfig(
        d_model=32,
        n_features=64,
        active_per_sample=3,
        correlation=0.5,
        d_sae=(128,),
        sparsity=(3,),
        training_samples=200_000,
        batch_size=1024,
    )
    res = known_dictionary_recovery(cfg)
    assert res.fraction_recovered[0] >= 0.8 and res.l0[0] == pytest.approx(3.0, abs=0.1)


def test_recovery_on_a_toy_model():
    # A toy model's represented features (its W columns) are the ground truth for an SAE on its hidden layer.
    from sae.superposition import toy_model
    from sae.toy_models import ToyTraining

    toy = toy_model(n_features=12, d_hidden=6, feature_probability=0.05, training=ToyTraining(steps=3000))
    cfg = RecoveryConfig(d_sae=(24,), sparsity=(2,), training_samples=300_000, batch_size=1024)
    res = toy_model_recovery(torch.tensor(toy.W), toy.feature_probability, cfg)
    assert res.source == "toy model" and res.n_features == toy.n_represented and res.d_model == 6
    assert res.fraction_recovered[0] >= 0.9, res


def test_bad_recovery_configs():
    with pytest.raises(
        ValueError,
        match="architecture must be one of 'topk', 'batchtopk', 'standard', 'gated', 'jumprelu'; got 'magic'",
    ):
        RecoveryConfig(architecture="magic")
    with pytest.raises(ValueError, match="active_per_sample"):
        RecoveryConfig(active_per_sample=0)
    with pytest.raises(ValueError, match="represents no feature"):
        toy_model_recovery(torch.zeros(2, 5), 0.1, RecoveryConfig())


def test_decoder_geometry_finds_planted_duplicates(tmp_path):
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(300, 64, generator=gen)
    W[1] = W[0] + 0.01 * torch.randn(64, generator=gen)  # two near-duplicates of latent 0's direction
    W[2] = W[0] + 0.01 * torch.randn(64, generator=gen)
    res = decoder_geometry(W, duplicate_cosine=0.9)
    assert res.n_duplicate_pairs == 3 and {tuple(p[:2]) for p in res.duplicates} == {(0, 1), (0, 2), (1, 2)}
    assert sum(res.counts) == 300 * 299 // 2 == sum(res.random_counts)
    # random directions look like the random baseline: mean |cos| ~ sqrt(2 / (pi d)) = 0.0997 for d = 64
    assert res.mean_abs_cosine == pytest.approx(res.random_mean_abs_cosine, rel=0.05)
    assert_round_trip(res, tmp_path / "g.json")
    ortho = decoder_geometry(torch.eye(8))
    assert ortho.mean_abs_cosine == 0 and ortho.dimensionality == pytest.approx([1.0] * 8)


def test_sae_geometry_command_on_an_sae_of_the_zoo_model(tmp_path, lang_model):
    # Superposition statistics of an SAE trained on a real model: lang-4l's layer-2 residual stream, 16k tokens.
    from interp.core.hooks import run_with_cache
    from interp.training.dictionaries import train_sae
    from interp.zoo.corpus import BOS_ID, lang_documents
    from sae.cli import main

    ids = lang_model.tokenizer(lang_documents(400, n_words=48, seed=1), add_special_tokens=False)["input_ids"]
    tokens = torch.tensor([[BOS_ID, *row[:40]] for row in ids])
    _, cache = run_with_cache(lang_model, tokens, ["blocks.2.hook_resid_post"])
    acts = cache["blocks.2.hook_resid_post"].flatten(0, 1)
    gen = torch.Generator().manual_seed(0)
    sae = train_sae(
        lambda n: acts[torch.randint(0, len(acts), (n,), generator=gen)],
        128,
        d_sae=512,
        sparsity=16,
        training_samples=200_000,
        batch_size=1024,
    )
    sae.save_inference_model(tmp_path / "sae")
    out = tmp_path / "geometry"
    assert main(["geometry", str(tmp_path / "sae"), "--out", str(out)]) == 0
    res = load_json(DecoderGeometryResult, out / "result.json")
    assert res.d_sae == 512 and res.d_in == 128 and sum(res.counts) == 512 * 511 // 2
    # 512 directions in 128 dims cannot be orthogonal; a trained decoder crowds more than random ones do
    assert res.mean_max_abs_cosine > res.random_mean_max_abs_cosine
    assert (out / "geometry.html").stat().st_size > 0
    assert main(["geometry", str(tmp_path / "missing"), "--out", str(out)]) == 2
