"""The superposition figures are built from results alone and show what the results hold."""

import math

import torch

from interp.results import DimensionalitySweepResult, PhaseDiagramResult, RecoveryResult, ToyModelResult, nested_tuple
from sae import plots
from sae.decoder_geometry import decoder_geometry
from sae.toy_models import adjacent_angles, dimensionality


def _pentagon_result() -> ToyModelResult:
    angles = torch.arange(5) * 2 * math.pi / 5
    W = torch.stack([angles.cos(), angles.sin()])
    return ToyModelResult(
        n_features=5,
        d_hidden=2,
        feature_probability=0.01,
        importance=(1.0,) * 5,
        importance_decay=1.0,
        seed=0,
        steps=0,
        n_seeds=1,
        loss=0.0,
        W=nested_tuple(W),
        b=(0.0,) * 5,
        norms=(1.0,) * 5,
        dimensionality=nested_tuple(dimensionality(W)),
        n_represented=5,
        dimensions_per_feature=0.4,
        interference=nested_tuple(W.T @ W),
        angles=tuple(adjacent_angles(W)),
    )


def test_toy_figures():
    res = _pentagon_result()
    geometry = plots.plot_toy_geometry(res)
    assert len(geometry.data) == 5 and "72°" in geometry.layout.title.text
    assert list(geometry.data[1].x) == [0, res.W[0][1]]  # feature 1 drawn from the origin to its W column
    # stretched to a wide column, the 1:1 plot narrows instead of widening its x range to -2..2
    assert list(geometry.layout.xaxis.range) == [-1.3, 1.3] and geometry.layout.xaxis.constrain == "domain"
    interference = plots.plot_toy_interference(res)
    assert interference.data[0].type == "heatmap" and len(interference.data[0].z) == 5


def test_sweep_and_recovery_figures():
    phase = PhaseDiagramResult(
        densities=(0.01, 1.0),
        importances=(0.1, 10.0),
        phase=((2, 0), (2, 1)),
        norm_extra=((1.0, 0.0), (1.0, 1.0)),
        norm_first=((1.0, 1.0), (1.0, 0.0)),
        steps=1,
        n_seeds=1,
    )
    fig = plots.plot_phase_diagram(phase)
    assert fig.data[0].text[0][1] == "not represented" and fig.layout.xaxis.type == "log"
    sweep = DimensionalitySweepResult(
        n_features=3,
        d_hidden=1,
        densities=(1.0, 0.1),
        dimensions_per_feature=(1.0, 0.5),
        dimensionality=((1.0, 0.0, 0.0), (0.5, 0.5, 0.0)),
        n_represented=(1, 2),
        steps=1,
    )
    fig = plots.plot_dimensionality_sweep(sweep)
    assert list(fig.data[1].y) == [1.0, 0.5] and list(fig.data[1].x) == [1.0, 10.0]
    rec = RecoveryResult(
        source="known dictionary",
        d_model=8,
        n_features=16,
        active_per_sample=2,
        architecture="topk",
        d_sae=(8, 32),
        sparsity=(2.0, 2.0),
        mmcs=(0.5, 0.99),
        fraction_recovered=(0.25, 1.0),
        l0=(2.0, 2.0),
        explained_variance=(0.6, 0.99),
        seconds=(1.0, 1.0),
        best_cosines=((0.5,) * 16, (0.99,) * 16),
        training_samples=1,
    )
    fig = plots.plot_recovery(rec)
    assert list(fig.data[1].y) == [0.25, 1.0]  # fraction recovered against width


def test_decoder_geometry_figure():
    res = decoder_geometry(torch.randn(40, 8, generator=torch.Generator().manual_seed(0)))
    fig = plots.plot_decoder_geometry(res)
    assert sum(fig.data[0].y) == 40 * 39 // 2 and fig.data[1].name == "random unit vectors"
