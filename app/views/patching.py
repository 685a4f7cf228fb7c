"""Activation patching: a site in every layer (and position / head), exact or attribution, as a heatmap."""

import streamlit as st

from app.common import build_task, checked_model, current, download, model_for, progress_bar, shown_errors
from interp import plots
from interp.core.sites import model_sites
from interp.vocab.choices import Direction, MetricName, PatchMethod, options

choice = current()
st.title("Activation patching")
model = checked_model(choice)

from interp.core.patch_sites import SITES  # noqa: E402

have = set(model_sites(model))
site_names = [
    name for name, spec in SITES.items() if spec.hook in have and name != "pattern"
]  # pattern: see check_site
columns = st.columns(4)
site = columns[0].selectbox(
    "site",
    site_names,
    key="patch_site",
    index=site_names.index("resid_pre") if "resid_pre" in site_names else 0,
    help="resid_pre: layer x position; z/q/k/v: layer x head; *_pos: per position too",
)
direction = columns[1].selectbox(
    "direction", options(Direction), help="denoise: clean activations into the corrupted run"
)
ATTRIBUTION = "attribution"  # not a PatchMethod: another analysis (interp.patching.attribution) on the same grid
METHOD_LABELS = {"fast": "exact (fast)", "exact": "exact (one pass per patch)", ATTRIBUTION: "attribution"}
method = columns[2].selectbox(
    "method",
    [*options(PatchMethod), ATTRIBUTION],
    format_func=METHOD_LABELS.get,
    key="patch_method",
    help="both exact methods give the same numbers; attribution is a gradient estimate from two passes",
)
metric = columns[3].selectbox("metric", options(MetricName))


@st.cache_data(show_spinner=False, max_entries=32)
def run_patch(spec, device, task_spec, site, direction, method, metric):
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch

    model, task = model_for(spec, device), build_task(spec, device, task_spec)
    if method == ATTRIBUTION:
        return attribution_patch(model, task, site=site, direction=direction, metric=metric)
    with progress_bar("patching (forward passes)") as progress:
        return patch(
            model,
            task,
            site=site,
            direction=direction,
            metric=metric,
            method=method,
            progress=progress,
        )


with shown_errors("patch"):
    result = run_patch(choice.model, choice.device, choice.task, site, direction, method, metric)
st.caption(
    f"{result.task}: {result.n_prompts} prompts; metric {result.metric} clean {result.clean:.3f}, corrupted "
    f"{result.corrupted:.3f}; colour: the colour bar says which scale (white = no effect); {result.seconds:.2f} s"
)
st.plotly_chart(plots.plot_patch(result), width="stretch")
download(result)
