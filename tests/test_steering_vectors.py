"""Steering vectors: made as their definitions say, saved and loaded exactly, applied only where they fit; SAE-latent
steering through the SAE with its error kept; the concept lexicon against hand-labelled texts; the sweep's rows."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from interp.core.hooks import activations
from interp.core.interventions import SpliceSAE, Steer
from interp.core.tokens import token_ids
from interp.generation import generate
from interp.loading.saes import load_sae
from interp.steering import (
    concept,
    concept_hits,
    concept_names,
    contrast_vector,
    diffmean_vector,
    evaluate_steering,
    latent_intervention,
    latent_vector,
    load_vector,
    probe_vector,
    save_vector,
    steer_hooks,
)

ROOT = Path(__file__).resolve().parents[1]
POSITIVE = ["Mary likes the ball .", "John likes the book ."]
NEGATIVE = ["Mary lives near the park .", "John lives near the school ."]


def test_steer_adds_the_vector_from_its_position_on():
    act = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(0))
    vec = torch.randn(8, generator=torch.Generator().manual_seed(1))
    out = Steer(vec, 0.5, from_position=2)(act)
    torch.testing.assert_close(out[:, :2], act[:, :2])
    torch.testing.assert_close(out[:, 2:], act[:, 2:] + 0.5 * vec)
    # left padding: row 1 starts two columns late, so its own position 2 is column 4
    positions = torch.tensor([[0, 1, 2, 3, 4], [-2, -1, 0, 1, 2]])
    out = Steer(vec, 0.5, from_position=2).at_positions(positions)(act)
    torch.testing.assert_close(out[1, :4], act[1, :4])
    torch.testing.assert_close(out[1, 4], act[1, 4] + 0.5 * vec)
    with pytest.raises(ValueError, match="width 8 but this hook has width 3"):
        Steer(vec, 1.0)(torch.zeros(1, 2, 3))


def test_diffmean_is_the_mean_difference_of_the_prompts_activations(lang_model):
    vec = diffmean_vector(lang_model, POSITIVE, NEGATIVE, layer=2)
    hook = "blocks.2.hook_resid_pre"
    assert (vec.hook, vec.method, vec.n_positive, vec.n_negative) == (hook, "diffmean", 2, 2)

    def mean(texts):  # each text alone, BOS left out, its tokens averaged
        rows = []
        for t in texts:
            ids = torch.tensor([token_ids(lang_model, t)])
            rows.append(activations(lang_model, ids, [hook])[hook][0, 1:].mean(0))
        return torch.stack(rows).mean(0)

    torch.testing.assert_close(vec.vector, mean(POSITIVE) - mean(NEGATIVE), atol=1e-4, rtol=1e-4)
    pair = contrast_vector(lang_model, POSITIVE[0], NEGATIVE[0], layer=2)
    assert pair.method == "contrast" and pair.scale > 0


def test_a_vector_round_trips_and_is_refused_where_it_does_not_fit(lang_model, induction_model, tmp_path):
    vec = diffmean_vector(lang_model, POSITIVE, NEGATIVE, layer=1)
    save_vector(vec, tmp_path / "v")
    back = load_vector(tmp_path / "v")
    assert torch.equal(back.vector, vec.vector)
    same = ("model", "hook", "method", "source", "n_positive", "n_negative")
    assert [getattr(back, f) for f in same] == [getattr(vec, f) for f in same]
    assert back.scale == pytest.approx(vec.scale, rel=1e-6)  # saved to 7 significant digits
    ((hook, steer),) = steer_hooks(lang_model, back, 0.5)
    assert hook == vec.hook and math.isclose(float(steer.vector.norm()), vec.scale, rel_tol=1e-5)
    with pytest.raises(ValueError, match="was made on zoo:lang-4l, not on zoo:induction-2l"):
        steer_hooks(induction_model, replace(vec, vector=torch.zeros(induction_model.cfg.d_model)), 1.0)
    with pytest.raises(ValueError, match="has width 7"):
        steer_hooks(lang_model, replace(vec, vector=torch.zeros(7)), 1.0)
    (tmp_path / "v" / "vector.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match="damaged steering vector"):
        load_vector(tmp_path / "v")
    with pytest.raises(ValueError, match="not a folder holding a steering vector"):
        load_vector(tmp_path / "none")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: diffmean_vector(m, [], NEGATIVE, layer=1), "the positive prompts are empty"),
        (lambda m: diffmean_vector(m, POSITIVE, ["  "], layer=1), "the negative prompts are empty"),
        (lambda m: diffmean_vector(m, POSITIVE, NEGATIVE, layer=9), "layer 9 does not exist"),
    ],
)
def test_bad_contrast_sets_and_layers_are_refused(lang_model, call, message):
    with pytest.raises(ValueError, match=message):
        call(lang_model)


def test_sae_latent_steering_keeps_the_error_and_moves_only_the_latent(lang_model):
    sae = load_sae(ROOT / "interp" / "zoo" / "saes" / "lang-4l-l2-topk16")
    x = torch.randn(2, 4, lang_model.cfg.d_model, generator=torch.Generator().manual_seed(0)) * 3
    feats = sae.encode(x)
    latent = int(feats[0, 0].argmax())
    # clamping a latent to its own value changes nothing: the error term carries the rest exactly
    same = SpliceSAE(sae, ((latent, float(feats[0, 0, latent])),), how="set")(x[:1, :1])
    torch.testing.assert_close(same, x[:1, :1], atol=1e-4, rtol=1e-4)
    added = SpliceSAE(sae, ((latent, 2.0),), how="add")(x)
    torch.testing.assert_close(added - x, (2.0 * sae.W_dec[latent]).expand_as(x), atol=1e-4, rtol=1e-4)
    ((hook, edit),) = latent_intervention(lang_model, sae, latent, 5.0)
    assert hook == sae.cfg.metadata.hook_name and edit.keep_error
    vec = latent_vector(lang_model, sae, latent)
    assert vec.method == "sae-latent" and math.isclose(float(vec.vector.norm()), 1.0, rel_tol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        latent_vector(lang_model, sae, sae.cfg.d_sae)
    with pytest.raises(ValueError, match="value is nan"):
        SpliceSAE(sae, ((latent, float("nan")),))


@pytest.mark.parametrize("name", concept_names())
def test_the_concept_lexicon_agrees_with_the_hand_labels(name):
    c = concept(name)
    right = sum((concept_hits(text, c) > 0) == bool(label) for text, label in c.labelled)
    assert right / len(c.labelled) >= 0.9, (name, right, len(c.labelled))
    assert sum(label for _, label in c.labelled) == len(c.labelled) // 2  # as many texts on the concept as off it


def test_the_sweep_scores_none_prompting_and_each_strength(lang_model):
    vec = diffmean_vector(lang_model, POSITIVE, NEGATIVE, layer=1)
    prompts = ["When Mary and John went to the store ,", "When Tom and Anna went to the park ,"]
    result = evaluate_steering(lang_model, vec, concept_name="weddings", prompts=prompts, strengths=(0.0, 1.0),
                               max_new_tokens=4)  # fmt: skip
    # lang-4l's vocabulary cannot write "Talk about weddings.": the prompting row is left out, and the result says so
    assert [r.label for r in result.rows] == ["none", "steer 0", "steer 1"]
    assert "cannot read" in result.baseline
    assert result.row("steer 0").samples == result.row("none").samples  # strength 0 changes nothing
    assert result.row("steer 0").perplexity == pytest.approx(result.row("none").perplexity)
    plain = generate(lang_model, prompts, max_new_tokens=4)
    assert result.row("none").samples == plain.texts
    assert all(math.isfinite(r.perplexity) and 0 <= r.concept_score <= 1 for r in result.rows)
    with pytest.raises(ValueError, match="unknown concept 'cats'"):
        evaluate_steering(lang_model, vec, concept_name="cats", prompts=prompts)
    with pytest.raises(ValueError, match="strength inf is not a finite number"):
        evaluate_steering(lang_model, vec, concept_name="weddings", prompts=prompts, strengths=(float("inf"),))


def test_a_probe_direction_becomes_a_unit_vector_at_its_hook(lang_model):
    from interp.probing.probes import TrainedProbe

    weight = torch.randn(2, lang_model.cfg.d_model, generator=torch.Generator().manual_seed(0))
    probe = TrainedProbe("logistic", weight, torch.zeros(2), 1.0, 1.0, 1.0, 10)
    hook = "blocks.2.hook_resid_post"
    vec = probe_vector(lang_model, probe.directions[0], hook=hook, name="a two-class probe")
    assert vec.method == "probe" and vec.hook == hook
    unit = (weight[1] - weight[0]) / (weight[1] - weight[0]).norm()
    torch.testing.assert_close(vec.vector, unit)
    with pytest.raises(ValueError, match="does not fit"):
        probe_vector(lang_model, torch.ones(3), hook=hook)


def test_one_word_prompts_make_a_vector(lang_model):
    """Each text keeps at least one token after BOS and massive activations are left out of the mean."""
    vec = diffmean_vector(lang_model, ["ball"], ["park"], layer=1)
    assert vec.method == "contrast" and torch.isfinite(vec.vector).all() and float(vec.vector.norm()) > 0
