"""SAE evaluation: an identity SAE is perfect, the numbers agree with SAELens's own evals, the command works."""

import json

import pytest
import torch

from interp.loading.token_sources import token_rows
from sae.evaluation import evaluate_sae
from tests.tolerances import PER_LAYER, f32_tol, logit_scale

HOOK = "blocks.2.hook_resid_post"


@pytest.fixture(scope="module")
def tokens(lang_model):
    return token_rows(lang_model, n_tokens=2000, context=40)


@pytest.fixture(scope="module")
def trained_sae(lang_model, tokens):
    from interp.core.hooks import run_with_cache
    from interp.training.dictionaries import train_sae

    _, cache = run_with_cache(lang_model, token_rows(lang_model, n_tokens=8000, context=40, seed=5), [HOOK])
    acts = cache[HOOK].flatten(0, 1)
    gen = torch.Generator().manual_seed(0)
    return train_sae(
        lambda n: acts[torch.randint(0, len(acts), (n,), generator=gen)],
        128,
        d_sae=256,
        sparsity=8,
        training_samples=100_000,
        batch_size=1024,
    )


def _identity_sae(d_in: int):
    """A standard SAE that reconstructs exactly: latents relu(x) and relu(-x), decoded as their difference."""
    from sae_lens import StandardSAE, StandardSAEConfig

    sae = StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=2 * d_in))
    eye = torch.eye(d_in)
    with torch.no_grad():
        sae.W_enc.copy_(torch.cat([eye, -eye], dim=1))
        sae.W_dec.copy_(torch.cat([eye, -eye], dim=0))
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    return sae


AT = "at the positions sae.positions.sae_positions keeps"


def test_sae_positions_leave_out_special_tokens_and_massive_activations(lang_model, tokens):
    from interp.core.hooks import run_with_cache
    from sae.positions import MASSIVE, sae_positions

    batch = tokens[:4]
    _, cache = run_with_cache(lang_model, batch, [HOOK])
    act = cache[HOOK].clone()
    act[2, 5] *= 3 * MASSIVE  # a planted massive activation
    keep = sae_positions(lang_model, batch, act)
    expected = batch != lang_model.tokenizer.bos_token_id
    expected[2, 5] = False
    assert torch.equal(keep, expected)


def test_an_identity_sae_loses_nothing(lang_model, tokens):
    res = evaluate_sae(lang_model, _identity_sae(128), tokens, hook=HOOK)
    # every position but the BOS that starts each row (sae.positions: special tokens are not read)
    assert res.n_tokens == int((tokens != lang_model.tokenizer.bos_token_id).sum()) < tokens.numel()
    # exact in float32 whatever the kernels: every product is by 1 or 0, every sum has one nonzero term
    assert res.mse == 0 and res.explained_variance == 1
    # the spliced run is the clean one up to rounding of the logits' size in each layer; the KL's terms carry a
    # few eps of the log-probabilities (test_ablating_a_silent_feature_changes_nothing)
    scale, depth = logit_scale(lang_model, tokens), PER_LAYER * lang_model.cfg.n_layers
    assert res.ce_loss_with_sae == pytest.approx(res.ce_loss_clean, abs=f32_tol(scale, depth))
    assert res.kl == pytest.approx(0, abs=f32_tol(scale, 4))
    gap = res.ce_loss_zero_ablation - res.ce_loss_clean
    assert res.ce_loss_recovered == pytest.approx(1.0, abs=f32_tol(scale / gap, depth))
    gap_at = res.ce_loss_zero_ablation_at_sae_positions - res.ce_loss_clean
    assert res.ce_loss_recovered_consistent == pytest.approx(1.0, abs=f32_tol(scale / gap_at, depth))
    assert res.ce_loss_zero_ablation > res.ce_loss_clean + 1  # zeroing the residual stream wrecks the model
    assert res.l0 == pytest.approx(128, abs=1)  # each dimension fires one of its two latents (unless exactly 0)
    assert res.interventions == (
        f"with SAE: SpliceSAE(sae=StandardSAE(128 -> 256), edits=(), keep_error=False) at {HOOK}, {AT}",
        f"zero ablation: Zero() at {HOOK}",
        f"zero ablation at the SAE's positions: Zero() at {HOOK}, {AT}",
    )


def test_an_sae_that_outputs_zeros_recovers_nothing_under_the_consistent_definition(lang_model, tokens):
    sae = _identity_sae(128)
    with torch.no_grad():
        sae.W_dec.zero_()  # every reconstruction is 0 (b_dec is 0 too)
    res = evaluate_sae(lang_model, sae, tokens, hook="blocks.1.hook_resid_post")
    # splicing zeros where the SAE reads is the consistent baseline's own run, tensor for tensor: exactly 0
    assert res.ce_loss_with_sae == res.ce_loss_zero_ablation_at_sae_positions
    assert res.ce_loss_recovered_consistent == 0
    # SAELens's baseline also zeroes BOS, which the SAE leaves alone: the empty SAE gets credit for it. Measured
    # on these rows: 0.207 here; -0.006 to 0.28 at zoo:lang-4l's other residual hooks, 0.40 at zoo:induction-2l's
    # blocks.0.hook_resid_pre
    assert res.ce_loss_recovered > 0.1


def test_metrics_agree_with_saelens(lang_model, tokens, trained_sae):
    from sae_lens.evals import ExplainedVarianceCalculator, get_recons_loss
    from sae_lens.training.activation_scaler import ActivationScaler

    res = evaluate_sae(lang_model, trained_sae, tokens, hook=HOOK)
    bos = lang_model.tokenizer.bos_token_id
    theirs = get_recons_loss(
        trained_sae,
        lang_model,
        ActivationScaler(),
        tokens,
        compute_kl=True,
        compute_ce_loss=True,
        hook_name=HOOK,
        ignore_tokens=[bos],  # SAELens's own way to leave special tokens as they are, as sae.positions does
    )
    # two implementations of means over ~2000 float32 predictions: agreement to 1e-4 relative (~800 eps)
    assert res.ce_loss_clean == pytest.approx(float(theirs["ce_loss_without_sae"].mean()), rel=1e-4)
    assert res.ce_loss_with_sae == pytest.approx(float(theirs["ce_loss_with_sae"].mean()), rel=1e-4)
    assert res.ce_loss_zero_ablation == pytest.approx(float(theirs["ce_loss_with_ablation"].mean()), rel=1e-4)
    # the KL is read off log-probabilities of the size of the cross-entropies (~2x the KL here): as relative
    assert res.kl == pytest.approx(float(theirs["kl_div_with_sae"].mean()), rel=1e-4)
    _, cache = lang_model.run_with_cache(tokens, names_filter=[HOOK])
    x = cache[HOOK][tokens != bos]
    with torch.no_grad():
        feats = trained_sae.encode(x)
        recon = trained_sae.decode(feats)
    calc = ExplainedVarianceCalculator()
    calc.add_batch(sae_output=recon, hidden_acts=x)
    assert res.explained_variance == pytest.approx(calc.compute(), rel=1e-4)
    assert res.l0 == pytest.approx(float((feats != 0).sum(-1).float().mean()), abs=1e-3)
    assert res.mse == pytest.approx(float(((x - recon) ** 2).sum(-1).mean()), rel=1e-4)
    assert 0 < res.ce_loss_recovered <= 1.01 and res.l0 <= 8


def test_sae_eval_command(tmp_path, trained_sae):
    from sae.cli import main

    trained_sae.cfg.metadata.hook_name = HOOK  # saved with the SAE, so `sae eval` needs no --hook
    trained_sae.save_inference_model(tmp_path / "sae")
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                str(tmp_path / "sae"),
                "--model",
                "zoo:lang-4l",
                "--n-tokens",
                "1000",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "l0",
        "mse",
        "explained_variance",
        "ce_loss_recovered",
        "kl",
        "dead_fraction",
        "dense_fraction",
        "n_tokens",
    ):
        assert key in metrics, key
    assert metrics["n_tokens"] >= 920 and metrics["hook"] == HOOK
    assert (out / "density.html").stat().st_size > 0
    # bad input: a hook of the wrong width, a missing folder
    assert (
        main(
            [
                "eval",
                str(tmp_path / "sae"),
                "--model",
                "zoo:lang-4l",
                "--hook",
                "blocks.0.hook_mlp_post",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert main(["eval", str(tmp_path / "nope"), "--model", "zoo:lang-4l", "--out", str(out)]) == 2


def _random_sae(hook: str, d_in: int = 32, d_sae: int = 64):
    from sae_lens import StandardSAE, StandardSAEConfig

    torch.manual_seed(0)
    sae = StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae))
    sae.cfg.metadata.hook_name = hook
    return sae.eval()


def test_llama_sae_evaluation(llama_model):
    import math

    from interp.core.hooks import hooks
    from sae.evaluation import next_token_loss

    hook = "blocks.1.hook_resid_post"  # the last residual of the tiny Llama (RMSNorm, no biases)
    tokens = torch.randint(3, 64, (8, 12), generator=torch.Generator().manual_seed(0))
    exact = evaluate_sae(llama_model, _identity_sae(32), tokens, hook=hook)
    # as in test_an_identity_sae_loses_nothing: the reconstruction exact, the rest rounding of the logits' size
    scale, depth = logit_scale(llama_model, tokens), PER_LAYER * llama_model.cfg.n_layers
    gap = exact.ce_loss_zero_ablation - exact.ce_loss_clean
    assert exact.mse == 0 and exact.kl == pytest.approx(0, abs=f32_tol(scale, 4))
    assert exact.ce_loss_recovered == pytest.approx(1.0, abs=f32_tol(scale / gap, depth))
    # zeroing the last residual: RMSNorm of 0 is 0 and nothing adds a bias, so every logit is 0 (uniform); the
    # loss is log(64) rounded to float32, then averaged over the tokens in float32
    assert exact.ce_loss_zero_ablation == pytest.approx(math.log(64), abs=f32_tol(math.log(64), depth=8))
    sae = _random_sae(hook)
    res = evaluate_sae(llama_model, sae, tokens)  # the hook from the SAE's metadata
    assert res.hook == hook and 0 < res.l0 <= 64 and res.mse > 0 and res.kl > 0
    with hooks(llama_model, [(hook, lambda act, hook=None: sae.decode(sae.encode(act)))]), torch.no_grad():
        spliced = llama_model(tokens)
    # the same spliced run batched otherwise: rounding of the logits' size in each layer
    tol = f32_tol(spliced.abs().max(), depth)
    assert res.ce_loss_with_sae == pytest.approx(float(next_token_loss(spliced, tokens).mean()), abs=tol)
