"""Steering (layer 4): vectors made from prompts, probes or SAE latents (`vectors`), applied as interventions during
generation, and evaluated against no intervention and a prompting baseline (`sweep`)."""

from interp.steering.sweep import (
    PROMPTS,
    STRENGTHS,
    Concept,
    concept,
    concept_hits,
    concept_names,
    evaluate_steering,
)
from interp.steering.vectors import (
    NEUTRAL_PROMPTS,
    check_vector_fits,
    contrast_vector,
    diffmean_vector,
    latent_intervention,
    latent_vector,
    load_vector,
    probe_vector,
    save_vector,
    steer_hooks,
)

__all__ = [
    "NEUTRAL_PROMPTS",
    "PROMPTS",
    "STRENGTHS",
    "Concept",
    "check_vector_fits",
    "concept",
    "concept_hits",
    "concept_names",
    "contrast_vector",
    "diffmean_vector",
    "evaluate_steering",
    "latent_intervention",
    "latent_vector",
    "load_vector",
    "probe_vector",
    "save_vector",
    "steer_hooks",
]
