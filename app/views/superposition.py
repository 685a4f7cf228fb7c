"""Toy models of superposition (Elhage et al., 2022): one setting's geometry and interference, the
dimensionality sweep, the phase diagram, and SAE recovery of known features. The first trains on
every change (seconds); the others run on a button press (tens of seconds on a CPU)."""

import streamlit as st

from app.common import progress_bar, shown_errors
from sae import plots

st.title("Superposition")


@st.cache_data(show_spinner=False, max_entries=32)
def toy(n_features, d_hidden, probability, decay, steps):
    from sae.superposition import toy_model
    from sae.toy_models import ToyTraining

    with progress_bar("training 32 toy models (steps)") as progress:
        return toy_model(
            n_features=n_features,
            d_hidden=d_hidden,
            feature_probability=probability,
            importance_decay=decay,
            training=ToyTraining(steps=steps),
            progress=progress,
        )


@st.cache_data(show_spinner=False, max_entries=8)
def dimensionality(n_features, d_hidden, n_densities, steps):
    from sae.superposition import dimensionality_sweep, log_grid
    from sae.toy_models import ToyTraining

    densities = log_grid(1.0, 0.001, n_densities)
    with progress_bar("training one toy model per density (steps)") as progress:
        return dimensionality_sweep(
            n_features=n_features,
            d_hidden=d_hidden,
            densities=densities,
            training=ToyTraining(steps=steps),
            progress=progress,
        )


@st.cache_data(show_spinner=False, max_entries=8)
def phases(n_grid, n_seeds, steps):
    from sae.superposition import log_grid, phase_diagram
    from sae.toy_models import ToyTraining

    with progress_bar("training the grid's 2-feature models (steps)") as progress:
        return phase_diagram(
            densities=log_grid(0.01, 1.0, n_grid),
            importances=log_grid(0.1, 10.0, n_grid),
            n_seeds=n_seeds,
            training=ToyTraining(steps=steps, batch_size=512),
            progress=progress,
        )


@st.cache_data(show_spinner=False, max_entries=8)
def recovery(d_model, n_features, active, widths, k, samples):
    from sae.recovery import RecoveryConfig, known_dictionary_recovery

    cfg = RecoveryConfig(
        d_model=d_model,
        n_features=n_features,
        active_per_sample=active,
        d_sae=widths,
        sparsity=(k,),
        training_samples=samples,
    )
    with progress_bar("SAEs trained") as progress:
        return known_dictionary_recovery(cfg, progress=progress)


toy_tab, dim_tab, phase_tab, recovery_tab = st.tabs(["Toy model", "Dimensionality", "Phase diagram", "SAE recovery"])
with toy_tab:
    cols = st.columns(5)
    n = cols[0].number_input("features n", 2, 64, 5)
    m = cols[1].number_input("hidden dims m", 1, 32, 2)
    p = cols[2].select_slider("feature probability", [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0], value=0.05)
    decay = cols[3].number_input("importance decay", 0.5, 1.0, 1.0, step=0.05, help="feature i has importance decay^i")
    steps = cols[4].select_slider("steps", [500, 1000, 2000, 5000], value=2000)
    with shown_errors("train the toy model"):
        result = toy(int(n), int(m), float(p), float(decay), int(steps))
    st.caption(
        f"{result.n_represented} of {result.n_features} features represented (norm > 0.5); "
        f"{result.dimensions_per_feature:.3f} "
        f"dimensions per feature; loss {result.loss:.5f}"
        + (f"; angles {', '.join(f'{a:.1f}' for a in result.angles)} degrees" if result.angles else "")
    )
    st.plotly_chart(plots.plot_toy_geometry(result), width="stretch")
    st.plotly_chart(plots.plot_toy_interference(result), width="stretch")

with dim_tab:
    cols = st.columns(4)
    n = cols[0].number_input("features", 4, 200, 40, key="dim_n")
    m = cols[1].number_input("hidden dims", 2, 64, 10, key="dim_m")
    n_densities = cols[2].slider("densities (1 to 0.001)", 4, 20, 10, key="dim_densities")
    steps = cols[3].select_slider("steps", [500, 1000, 2000, 5000], value=2000, key="dim_steps")
    if st.button("Run the dimensionality sweep", key="run_dimensionality"):
        with shown_errors("run the sweep"):
            sweep = dimensionality(int(n), int(m), n_densities, steps)
        st.plotly_chart(plots.plot_dimensionality_sweep(sweep), width="stretch")

with phase_tab:
    cols = st.columns(3)
    n_grid = cols[0].slider("grid size", 4, 16, 8, key="phase_grid")
    n_seeds = cols[1].slider("seeds per cell", 1, 3, 2, key="phase_seeds")
    steps = cols[2].select_slider("steps", [500, 1000, 2000, 3000], value=2000, key="phase_steps")
    if st.button("Run the phase diagram", key="run_phase"):
        with shown_errors("run the phase diagram"):
            diagram = phases(n_grid, n_seeds, steps)
        st.plotly_chart(plots.plot_phase_diagram(diagram), width="stretch")

with recovery_tab:
    cols = st.columns(5)
    d_model = cols[0].number_input("d_model", 8, 512, 64)
    n_features = cols[1].number_input("true features", 8, 2048, 128)
    active = cols[2].number_input("active per sample", 1.0, 32.0, 4.0)
    k = cols[3].number_input("TopK k", 1, 64, 4)
    samples = cols[4].select_slider(
        "samples per SAE", [100_000, 300_000, 1_000_000], value=300_000, key="recovery_samples"
    )
    widths = st.multiselect("SAE widths", [32, 64, 128, 256, 512, 1024], default=[64, 128, 256], key="recovery_widths")
    if st.button("Train the SAEs", key="run_recovery"):
        with shown_errors("train the SAEs"):
            rec = recovery(int(d_model), int(n_features), float(active), tuple(sorted(widths)), int(k), samples)
        st.plotly_chart(plots.plot_recovery(rec), width="stretch")
