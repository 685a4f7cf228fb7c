"""Linear probes in every layer with a control task (selectivity), then a causal check along the chosen probe."""

import streamlit as st

from app.common import checked_model, current, download, model_for, progress_bar, shown_errors
from interp import plots

choice = current()
st.title("Probes")
model = checked_model(choice)

from interp.probe_tasks import DEFAULT_PROBE_TASK, PROBE_TASKS  # noqa: E402
from interp.model import sites  # noqa: E402
from interp.probe_experiment import RESIDUAL_LIKE  # noqa: E402


@st.cache_data(show_spinner=False, max_entries=16)
def run_probes(spec, device, task_name, n_prompts, site, mode, alpha, seed):
    from interp.probe_experiment import probe_experiment
    from interp.probe_tasks import make_probe_task
    from interp.probes import ProbeConfig

    model = model_for(spec, device)
    task = make_probe_task(task_name, model, n_prompts=n_prompts, seed=seed)
    with progress_bar("probing") as progress:
        return probe_experiment(model, task, site=site, config=ProbeConfig(seed=seed), mode=mode, alpha=alpha,
                                progress=lambda stage, done, total: progress(done, total, stage))


cols = st.columns(5)
default = DEFAULT_PROBE_TASK.get(choice.model, "repeat")
task_name = cols[0].selectbox("property", PROBE_TASKS, index=list(PROBE_TASKS).index(default), key="probe_task",
                              help="repeat: is this token a repeat of an earlier one; ioi-io: which name is the indirect object")
n_prompts = cols[1].slider("prompts", 32, 512, 128, step=32)
site_names = [s for s in RESIDUAL_LIKE if s in sites(model)]
site = cols[2].selectbox("site", site_names, index=site_names.index("resid_post"))
mode = cols[3].selectbox("causal check", ["ablate", "steer"], help="project the probe direction out, or add alpha x the mean norm along it")
alpha = cols[4].number_input("alpha (steer)", -20.0, 20.0, 4.0, disabled=mode == "ablate")
with shown_errors("probe"):
    result, check = run_probes(choice.model, choice.device, task_name, n_prompts, site, mode, alpha if mode == "steer" else 0.0, choice.task.seed)
left, right = st.columns(2)
left.plotly_chart(plots.plot_probe_accuracy(result), width="stretch")
right.plotly_chart(plots.plot_probe_selectivity(result), width="stretch")
st.subheader("Causal check")
st.plotly_chart(plots.plot_causal_check(check), width="stretch")
download(result, "probes.json")
