"""Toy models of superposition: the formulas on hand-built W, and the paper's findings reproduced (seeded)."""

import math

import pytest
import torch
from jaxtyping import TypeCheckError

from interp.results import PHASES, ToyModelResult, load_json
from sae.superposition import dimensionality_sweep, phase_diagram, toy_model
from sae.toy_models import ToyTraining, adjacent_angles, dimensionality, dimensions_per_feature, train_toy_models
from tests.roundtrip import assert_round_trip


def _polygon(n: int) -> torch.Tensor:
    angles = torch.arange(n) * 2 * math.pi / n
    return torch.stack([angles.cos(), angles.sin()])


def test_dimensionality_on_known_geometries():
    # pentagon: 1 / (1 + 2 cos^2 72 + 2 cos^2 144) = 2/5; antipodal pair: 1/2; orthogonal: 1; unused: 0
    torch.testing.assert_close(dimensionality(_polygon(5)), torch.full((5,), 0.4))
    torch.testing.assert_close(dimensionality(torch.tensor([[1.0, -1.0]])), torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(
        dimensionality(torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])), torch.tensor([1.0, 1.0, 0.0])
    )
    assert dimensions_per_feature(_polygon(5)) == pytest.approx(2 / 5)
    assert adjacent_angles(_polygon(5)) == pytest.approx([72.0] * 5)


def test_sparse_features_form_a_pentagon():
    # Paper, section "Superposition as a phase change": n=5, m=2, equal importance, sparse -> regular pentagon.
    # Measured (seed 0, 3000 steps): angles 71.9-72.1 degrees, D_i 0.399-0.401. Tolerances: the issue's
    # +-0.05 on D, and +-3 degrees, far outside the seed-to-seed spread (0.1 degree) yet far from a square (90).
    for p in (0.05, 0.01):
        res = toy_model(n_features=5, d_hidden=2, feature_probability=p, training=ToyTraining(steps=3000))
        assert res.n_represented == 5
        assert res.angles == pytest.approx([72.0] * 5, abs=3.0), res.angles
        assert res.dimensionality == pytest.approx([0.4] * 5, abs=0.05), res.dimensionality


def test_dense_features_get_one_dimension_each():
    # Dense (p=1) with the paper's decaying importance (0.9^i): the two most important features get a dimension
    # each (D = 1, at right angles) and the rest are dropped. (With equal importance the dense optimum is not
    # "m features": every rank-2 projection serves the linear part, and ReLU + bias reach a loss of 0.245-0.249
    # (two runs) below the 0.25 of keeping two features, so which features count as represented is arbitrary there.)
    res = toy_model(
        n_features=5, d_hidden=2, feature_probability=1.0, importance_decay=0.9, training=ToyTraining(steps=3000)
    )
    assert res.n_represented == 2
    assert res.dimensionality[:2] == pytest.approx([1.0, 1.0], abs=0.05)
    assert max(res.norms[2:]) < 0.1
    assert sorted(res.angles) == pytest.approx([90.0, 270.0], abs=2.0)


def test_instances_train_independently():
    # Two settings in one batch give what each gives in a batch of its own: the dense instance drops features,
    # the sparse one keeps all five, whatever its neighbour.
    prob = torch.tensor([[1.0] * 5, [0.02] * 5])
    imp = torch.tensor([[0.9**i for i in range(5)]] * 2)
    models = train_toy_models(prob, imp, 2, training=ToyTraining(steps=2000))
    norms = models.W.norm(dim=1)
    assert int((norms[0] > 0.5).sum()) == 2 and int((norms[1] > 0.5).sum()) == 5


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="probabilities must lie in"):
        train_toy_models(torch.zeros(1, 3), torch.ones(1, 3), 2)
    # Shapes that disagree are refused at the call: by the library's own check (a ValueError) when running
    # as users run it, by the shape checker (TypeCheckError) in this suite, which checks annotations first.
    with pytest.raises((ValueError, TypeCheckError), match=r"instance, feature|typechecking parameter 'importance'"):
        train_toy_models(torch.ones(1, 3), torch.ones(1, 4), 2)
    with pytest.raises(ValueError, match="steps"):
        ToyTraining(steps=0)
    with pytest.raises((ValueError, TypeCheckError), match=r"2-dimensional|typechecking parameter 'W'"):
        adjacent_angles(torch.ones(3, 4))


def test_phase_diagram_corners(tmp_path):
    # Paper figure "phase change" (n=2, m=1): dense and unimportant -> extra feature not represented;
    # dense and important -> it takes the dimension; sparse -> both share it in superposition.
    res = phase_diagram(
        densities=torch.tensor([0.01, 1.0]), importances=torch.tensor([0.1, 10.0]), training=ToyTraining(steps=3000)
    )
    name = {(i, d): PHASES[res.phase[i][d]] for i in range(2) for d in range(2)}
    assert name[(0, 1)] == "not represented" and name[(1, 1)] == "dedicated dimension"
    assert name[(0, 0)] == "superposition" and name[(1, 0)] == "superposition"
    assert_round_trip(res, tmp_path / "phase.json")


def test_dimensions_per_feature_fall_with_sparsity():
    # Dense: the model keeps as many features as dimensions (D* = 1: a rank-m projection has ||W||_F^2 = m).
    # Sparse: far more features than dimensions share them (measured D* 0.27 at density 0.01 for 20 in 5).
    res = dimensionality_sweep(
        n_features=20, d_hidden=5, densities=torch.tensor([1.0, 0.01]), training=ToyTraining(steps=3000)
    )
    assert res.dimensions_per_feature[0] == pytest.approx(1.0, abs=0.1)
    assert res.dimensions_per_feature[1] < 0.5 and res.n_represented[1] > 10


def test_sae_toy_command_writes_the_result(tmp_path):
    from sae.cli import main

    out = tmp_path / "toy"
    assert (
        main(
            [
                "toy",
                "--n-features",
                "5",
                "--d-hidden",
                "2",
                "--feature-probability",
                "0.05",
                "--steps",
                "2000",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    res = load_json(ToyModelResult, out / "result.json")
    assert len(res.W) == 2 and len(res.W[0]) == 5 and len(res.b) == 5
    assert len(res.norms) == 5 and len(res.dimensionality) == 5
    assert res.feature_probability == 0.05 and res.n_features == 5 and res.d_hidden == 2
    assert (out / "geometry.html").stat().st_size > 0 and (out / "interference.html").stat().st_size > 0
    assert main(["toy", "--feature-probability", "0", "--out", str(out)]) == 2  # a clear error, not a traceback


def test_the_defaults_find_the_hexagon():
    # training seed 2: 16 initialisations all settle in a pentagon with a dropped feature (measured); the
    # defaults (32 initialisations, picked by the loss on shared inputs) find the hexagon, D = 1/3 each
    result = toy_model(n_features=6, d_hidden=2, feature_probability=0.01, training=ToyTraining(seed=2))
    assert result.n_represented == 6 and all(abs(d - 1 / 3) < 0.02 for d in result.dimensionality), (
        result.dimensionality
    )
    assert all(abs(a - 60) < 3 for a in result.angles), result.angles
