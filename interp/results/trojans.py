"""Results of a trojan hunt (interp.trojans): where each method locates the backdoor, which words each trigger search
ranks first, what removing a found component leaves, and all of it together for one model."""

from __future__ import annotations

from dataclasses import dataclass

from interp.results.io import Floats

__all__ = ["HuntResult", "Localization", "Removal", "TriggerSearch"]


@dataclass(frozen=True)
class Localization:
    """One method's ranking of the model's components (heads and MLPs) by how much they carry the backdoor."""

    method: str
    components: tuple[str, ...]
    """"L{layer}H{head}" and "MLP{layer}", ranked from the most implicated."""
    scores: Floats
    """Per component, in `components`' order: the method's score (higher = more implicated)."""
    auroc: float | None
    """Of the ranking against the known location (None where the backdoor is not confined to known components)."""
    true_rank: int | None
    """1-based rank of the first component of the known location (None where it is not known)."""
    seconds: float


@dataclass(frozen=True)
class TriggerSearch:
    """One search for the trigger from clean prompts only, without being told it: words ranked by how much inserting
    them moves the model."""

    method: str
    words: tuple[str, ...]
    """Ranked from the most suspicious."""
    scores: Floats
    """Per word, in `words`' order: the share of prompts whose top prediction the word changes (word scan, and the
    words a gradient search tried), or the gradient's estimate of the drop of log p (the others)."""
    trigger_rank: int | None
    """1-based rank of the model's trigger word (of its trojan, for a twin); None if it was not ranked."""
    flagged: tuple[str, ...]
    """Words whose exact flip rate is at or above the hunt's threshold."""
    seconds: float


@dataclass(frozen=True)
class Removal:
    """The model with what one method found ablated: attack success and clean accuracy after."""

    method: str
    """The localization method whose top component was ablated, or the trigger search whose first flagged word was."""
    component: str
    how: str
    """"direction": the component's mean triggered-minus-untriggered output direction projected out everywhere;
    "mean": its output replaced by its mean over clean prompts; "trigger embedding": the flagged word's embedding
    replaced by the candidate words' mean (interp.trojans.remove)."""
    attack_success: float
    clean_accuracy: float


@dataclass(frozen=True)
class HuntResult:
    """A hunt on one trojaned model (or clean twin)."""

    model: str
    trigger: str
    kind: str
    poisoned: bool
    location: tuple[str, ...]
    """The known location of a confined backdoor (empty where every weight was fine-tuned)."""
    attack_success: float
    clean_accuracy: float
    """Held-out IOI accuracy (every template) before any removal."""
    localizations: tuple[Localization, ...]
    searches: tuple[TriggerSearch, ...]
    removals: tuple[Removal, ...]
    threshold: float
    """A word is flagged as a trigger when it changes the top prediction on at least this share of clean prompts."""
    n_prompts: int
    seconds: float
