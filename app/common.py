"""What every page shares: the sidebar's choices, models loaded once per process, tasks built from the
sidebar, cached analyses, and errors shown as `st.error` instead of tracebacks.

Caching: models are resources (`st.cache_resource`, one per (spec, device), shared by sessions);
analyses are data (`st.cache_data`), keyed by the model spec, device and the page's inputs, so a rerun
with the same inputs costs nothing. Cached analysis functions take the spec, not the model: the spec
is hashable and names the model exactly.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app import state
from interp.loading.spec import defaults_for
from interp.vocab.choices import DeviceChoice, TaskName, options
from interp.zoo import DEFAULT_MODEL, ZOO, bundled_sae_folder

__all__ = [
    "OTHER",
    "REMOTE_ENV",
    "ROOTS_ENV",
    "ZOO_SPECS",
    "Choice",
    "TaskSpec",
    "allowed_roots",
    "build_task",
    "bundled_sae",
    "check_allowed_path",
    "checked_model",
    "current",
    "download",
    "model_for",
    "neuron_card",
    "progress_bar",
    "sae_for",
    "serves",
    "shown_errors",
    "sidebar",
]

ZOO_SPECS = (DEFAULT_MODEL, *(e.spec for e in ZOO.values() if e.spec != DEFAULT_MODEL))
OTHER = "other (a TransformerLens name or a local folder)"
REMOTE_ENV = "WORKBENCH_ALLOW_REMOTE"
"""Set to 1 (python -m app --remote) to answer clients on other machines."""
ROOTS_ENV = "WORKBENCH_ROOTS"
"""Folders (separated by os.pathsep) the app may load models and SAEs from (python -m app --allow-path DIR)."""
PROJECT = Path(__file__).resolve().parents[1]
CUSTOM = "custom"


@dataclass(frozen=True)
class TaskSpec:
    """The sidebar's task: a built-in one by name, or the user's own prompt pair (hashable, for caching)."""

    name: str = "ioi"
    n_prompts: int = 16
    seed: int = 0
    clean: str = ""
    corrupted: str = ""
    answer: str = ""
    wrong: str = ""


@dataclass(frozen=True)
class Choice:
    """Everything the sidebar decides."""

    model: str
    device: str
    task: TaskSpec
    prompt: str


def serves(client_ip: str | None, *, allow_remote: bool) -> bool:
    """Whether the app answers a client: one on this machine always (Streamlit reports those as None), one
    elsewhere only when the person who started the app allowed it. A second guard behind binding to
    localhost (`./workbench run`, `python -m app`): a `streamlit run` started outside the project listens on
    every interface, and this keeps it from serving anyone else."""
    if allow_remote or client_ip is None:
        return True
    address = ipaddress.ip_address(client_ip)
    if address.version == 6 and address.ipv4_mapped is not None:  # 127.0.0.1 reaching an IPv6 socket
        address = address.ipv4_mapped
    return address.is_loopback


def allowed_roots() -> list[Path]:
    """The folders models and SAEs may be loaded from: WORKBENCH_ROOTS when set, else the project, the user's
    cache (where Hugging Face and the workbench keep downloads) and the folder the app was started in."""
    if os.environ.get(ROOTS_ENV):
        return [Path(p).expanduser().resolve() for p in os.environ[ROOTS_ENV].split(os.pathsep) if p]
    return [PROJECT, (Path.home() / ".cache").resolve(), Path.cwd().resolve()]


def check_allowed_path(text: str, what: str) -> None:
    """Refuse a folder outside the allowed roots, before anything looks inside it: the app's error messages
    must not become a way to explore the server's folders. Names that are not paths (zoo:NAME, gpt2,
    release:sae_id) pass."""
    path = Path(text).expanduser()
    if not (path.exists() or os.sep in text or text.startswith((".", "~"))):
        return
    resolved = path.resolve()
    roots = allowed_roots()
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise ValueError(
            f"this app loads {what} only from {', '.join(map(str, roots))}; start it with "
            f"`python -m app --allow-path FOLDER` (or set {ROOTS_ENV}) to allow another folder"
        )


@st.cache_resource(show_spinner="Loading the model ...", max_entries=3)
def model_for(spec: str, device: str) -> Any:
    from interp.loading.model import load_model

    return load_model(spec, device=device)


@st.cache_resource(show_spinner="Loading the SAE ...", max_entries=4)
def sae_for(path: str, device: str) -> Any:
    from interp.loading.saes import load_sae

    return load_sae(path, device=device)


def bundled_sae(spec: str) -> Path | None:
    """The folder of the SAE bundled with a model (a zoo model's `defaults.sae`), or None when it has none."""
    return bundled_sae_folder(defaults_for(spec).sae)


def build_task(spec: str, device: str, task: TaskSpec) -> Any:
    from interp.tasks.inputs import CUSTOM_FIELDS, task_from_inputs

    model = model_for(spec, device)
    if task.name == CUSTOM:
        return task_from_inputs(model, **{k: getattr(task, k) for k in CUSTOM_FIELDS})
    return task_from_inputs(model, task=task.name, n_prompts=task.n_prompts, seed=task.seed)


def sidebar() -> Choice:
    """Draw the shared sidebar (model, device, task, prompt) and return what it says."""
    with st.sidebar:
        st.header("Model")
        # ?model=zoo:NAME in the address opens the app on that zoo model (a link to share, or to time)
        asked = st.query_params.get("model")
        picked = st.selectbox(
            "model",
            [*ZOO_SPECS, OTHER],
            index=ZOO_SPECS.index(asked) if asked in ZOO_SPECS else 0,
            key="model_pick",
            help="the bundled zoo models, or any other spec load_model takes",
        )
        model = picked
        if picked == OTHER:
            model = st.text_input(
                "model name or folder", key="model_other", placeholder="gpt2, pythia-70m, /path/to/checkpoint"
            ).strip()
        device = st.selectbox("device", options(DeviceChoice), key="device", help="auto: the GPU when there is one")
        defaults = defaults_for(model)
        st.header("Task")
        # the task widget's key follows the model's natural task, so switching model resets it to that task
        default_task = defaults.task
        names = [*options(TaskName), CUSTOM]
        name = st.selectbox(
            "task",
            names,
            index=names.index(default_task),
            key=f"task_{default_task}",
            help="clean/corrupted prompt pairs with an answer and a wrong token",
        )
        if name == CUSTOM:
            task = TaskSpec(
                name=CUSTOM,
                clean=st.text_input(
                    "clean prompt", key="clean", value="When Mary and John went to the store , John gave a drink to"
                ),
                corrupted=st.text_input(
                    "corrupted prompt",
                    key="corrupted",
                    value="When Mary and John went to the store , Mary gave a drink to",
                ),
                answer=st.text_input("answer", key="answer", value="Mary"),
                wrong=st.text_input("wrong answer", key="wrong", value="John"),
            )
        else:
            task = TaskSpec(
                name=name,
                # keyed by the model's default, like the task: switching to a slow model starts with fewer prompts
                n_prompts=st.slider("prompts", 2, 64, defaults.n_prompts, key=f"n_prompts_{defaults.n_prompts}"),
                seed=st.number_input("seed", 0, 10_000, 0, key="seed"),
            )
        st.header("Prompt")
        # one prompt per model (keyed by it): a prompt typed for one vocabulary stays with that model
        prompt = st.text_area("prompt (tokens, attention, SAE features)", key=f"prompt_{model}", value=defaults.prompt)
    return Choice(model=model, device=device, task=task, prompt=prompt)


@contextmanager
def shown_errors(what: str) -> Iterator[None]:
    """Run a page's work; a failure becomes an `st.error` naming it (no traceback) and stops this page only."""
    try:
        yield
    except Exception as err:  # st.stop/rerun are BaseExceptions and pass through
        kind = "" if isinstance(err, ValueError) else f" ({type(err).__name__})"
        st.error(f"Could not {what}{kind}: {err}")
        st.stop()


def checked_model(choice: Choice) -> Any:
    """The sidebar's model, or an error on this page saying what to fix."""
    if not choice.model:
        st.info("Type a model name or folder in the sidebar.")
        st.stop()
    with shown_errors(f"load the model {choice.model!r}"):
        check_allowed_path(choice.model, "models")
        return model_for(choice.model, choice.device)


def download(result: Any, name: str = "result.json") -> None:
    """A button that downloads `result` as the JSON the CLI writes."""
    from interp.results import to_json

    st.download_button(f"Download {name}", to_json(result), file_name=name, mime="application/json")


def current() -> Choice:
    """The sidebar's choices (main.py draws the sidebar before running the page)."""
    return st.session_state[state.CHOICE]


@contextmanager
def progress_bar(label: str) -> Iterator:
    """A progress(done, total[, stage]) callback for a library call, drawing an `st.progress` bar that is
    removed when the work ends. Use it inside the `st.cache_data` function: an element driven from a
    cached run must be created in it (a bar made outside raises CacheReplayClosureError on a cache hit)."""
    bar = st.progress(0.0, text=label)

    def progress(done: int, total: int, stage: str | None = None) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{stage or label}: {done}/{total}")

    try:
        yield progress
    finally:
        bar.empty()


@st.cache_data(show_spinner="Reading the neuron's key and value ...", max_entries=64)
def _neuron_memory(spec: str, device: str, layer: int, neuron: int) -> Any:
    from interp.weights import neuron_memory

    return neuron_memory(model_for(spec, device), layer, neuron, k=8)


def neuron_card(choice: Choice, layer: int, neuron: int) -> None:
    """An MLP neuron's memory card (interp.weights.neuron_memory): what its value promotes and suppresses, what its
    key reads, where it fires on text; shown by the Weights page and from DLA by neuron."""
    with shown_errors(f"read neuron {neuron} of block {layer}"):
        memory = _neuron_memory(choice.model, choice.device, layer, neuron)
        left, right = st.columns(2)
        left.markdown(f"**L{layer}N{neuron} promotes** " + ", ".join(f"`{t}`" for t in memory.promoted))
        left.markdown("**suppresses** " + ", ".join(f"`{t}`" for t in memory.suppressed))
        left.markdown("**its key reads (embedding)** " + ", ".join(f"`{t}`" for t in memory.key_tokens))
        right.markdown("**fires most on**")
        right.dataframe(
            [{"context": t, "activation": round(a, 3)} for t, a in zip(memory.contexts, memory.activations)],
            hide_index=True,
        )
