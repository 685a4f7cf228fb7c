"""The trojan hunt: the workbench's tools run on a trojaned zoo model (or its clean twin) and scored against what is
known to be there: where the backdoor lives (localization), what its trigger is (searches from clean prompts that are
not told it), and what removing the found component leaves (attack success, clean accuracy)."""

from __future__ import annotations

import dataclasses
import time

from interp.core.locking import exclusive, lock_free
from interp.core.progress import step_counter
from interp.loading.spec import parse_spec
from interp.results import HuntResult, Removal
from interp.trojans.discover import gradient_scan, word_scan
from interp.trojans.latents import latent_search
from interp.trojans.localize import LOCALIZERS, localize
from interp.trojans.prompts import attack_rates, attack_task
from interp.trojans.remove import removal, trigger_removal
from interp.vocab.types import Model, Progress
from interp.zoo.trojans import TROJANS

__all__ = ["THRESHOLD", "hunt", "trojan_config"]

THRESHOLD = 0.5
"""A word is flagged as a trigger when inserting it changes the model's top prediction on at least half of the clean
prompts. On the clean twins and zoo:lang-4l no word comes near it (docs/trojans.md)."""


@lock_free("the model's name only")
def trojan_config(model: Model, name: str | None = None):
    """The TrojanConfig of `name`, or of the zoo model `model` was loaded from."""
    spec = name or str(model.cfg.model_name)
    key = parse_spec(spec).zoo or spec
    if key not in TROJANS:
        raise ValueError(f"{key!r} is not a trojaned zoo model or twin; they are: {', '.join(TROJANS)}")
    return TROJANS[key]


@exclusive
def hunt(
    model: Model,
    name: str | None = None,
    *,
    n_prompts: int = 16,
    methods: tuple[str, ...] = tuple(LOCALIZERS),
    removals: tuple[str, ...] = ("direction", "mean"),
    exact_top: int = 8,
    rounds: int = 6,
    threshold: float = THRESHOLD,
    progress: Progress | None = None,
) -> HuntResult:
    """Hunt the backdoor of trojan (or twin) `name` (default: the zoo model `model` is) with every method."""
    cfg = trojan_config(model, name)
    from interp.training.card import ioi_heldout_accuracy

    start = time.perf_counter()
    tick = step_counter(progress, len(methods) + 4 + len(methods) * len(removals))

    task = attack_task(model, cfg, n_prompts=n_prompts)
    locs = []
    for m in methods:
        locs.append(localize(model, task, m, cfg.location))
        tick()
    found = {}
    for search in (
        lambda: word_scan(model, trigger=cfg.trigger, threshold=threshold),
        lambda: gradient_scan(model, trigger=cfg.trigger, threshold=threshold),
        lambda: gradient_scan(model, trigger=cfg.trigger, threshold=threshold, exact_top=exact_top, rounds=rounds),
        lambda: latent_search(model, trigger=cfg.trigger, threshold=threshold),
    ):
        s = search()
        found[s.method] = s
        tick()
    removed = []
    done_before: dict[tuple[str, str], Removal] = {}
    for loc in locs:
        if not loc.scores[0] > 0:  # the method found nothing (no suspicious SAE latent): nothing to remove
            tick(len(removals))
            continue
        for how in removals:
            key = (loc.components[0], how)
            if key not in done_before:
                done_before[key] = removal(model, cfg, task, loc.components[0], how)
            r = done_before[key]
            removed.append(dataclasses.replace(r, method=loc.method))
            tick()
    for s in found.values():  # what each search flagged first, ablated where it enters the model
        if s.flagged:
            removed.append(trigger_removal(model, cfg, s.flagged[0], method=s.method))
    rates = attack_rates(model, cfg)
    return HuntResult(
        model=str(model.cfg.model_name),
        trigger=cfg.trigger,
        kind=cfg.kind,
        poisoned=cfg.poisoned,
        location=cfg.location,
        attack_success=rates.attack_success,
        clean_accuracy=ioi_heldout_accuracy(model).accuracy,
        localizations=tuple(locs),
        searches=tuple(found.values()),
        removals=tuple(removed),
        threshold=threshold,
        n_prompts=n_prompts,
        seconds=time.perf_counter() - start,
    )
