"""Linear probes in every layer with a control task (selectivity), then a causal check along the chosen probe."""

import streamlit as st

from app.common import checked_model, current, download, model_for, progress_bar, shown_errors
from interp import plots

choice = current()
st.title("Probes")
model = checked_model(choice)

from interp.core.sites import model_sites  # noqa: E402
from interp.loading.spec import defaults_for  # noqa: E402
from interp.vocab.choices import BlockSite, EditMode, ProbeTaskName, options  # noqa: E402


@st.cache_data(show_spinner=False, max_entries=16)
def run_probes(spec, device, task_name, n_prompts, site, mode, alpha, seed):
    from interp.probing.datasets import make_probe_task
    from interp.probing.experiment import probe_experiment
    from interp.probing.probes import ProbeConfig

    model = model_for(spec, device)
    task = make_probe_task(task_name, model, n_prompts=n_prompts, seed=seed)
    with progress_bar("probing") as progress:
        return probe_experiment(
            model,
            task,
            site=site,
            config=ProbeConfig(seed=seed),
            mode=mode,
            alpha=alpha,
            progress=lambda stage, done, total: progress(done, total, stage),
        )


cols = st.columns(5)
task_names = options(ProbeTaskName)
task_name = cols[0].selectbox(
    "property",
    task_names,
    index=task_names.index(defaults_for(choice.model).probe_task),
    key="probe_task",
    help="repeat: is this token a repeat of an earlier one; ioi-io: which name is the indirect object",
)
n_prompts = cols[1].slider("prompts", 32, 512, 128, step=32)
site_names = [s for s in options(BlockSite) if s in model_sites(model)]
site = cols[2].selectbox("site", site_names, index=site_names.index("resid_post"))
mode = cols[3].selectbox(
    "causal check", options(EditMode), help="project the probe direction out, or add alpha x the mean norm along it"
)
alpha = cols[4].number_input("alpha (steer)", -20.0, 20.0, 4.0, disabled=mode == "ablate")
with shown_errors("probe"):
    experiment = run_probes(
        choice.model,
        choice.device,
        task_name,
        n_prompts,
        site,
        mode,
        alpha if mode == "steer" else 0.0,
        choice.task.seed,
    )
result, check = experiment.probes, experiment.causal_check
left, right = st.columns(2)
left.plotly_chart(plots.plot_probe_accuracy(result), width="stretch")
right.plotly_chart(plots.plot_probe_selectivity(result), width="stretch")
st.subheader("Causal check")
st.plotly_chart(plots.plot_causal_check(check), width="stretch")
download(result, "probes.json")
