"""Defaults of analysis options that three places offer (the library's signature, a command's flags, an app page's
widgets), defined once here and read by all three. They live in the vocabulary, which imports nothing, so that a
command's argument parser reads them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GRAPH", "GraphDefaults"]


@dataclass(frozen=True)
class GraphDefaults:
    """Attribution graphs (interp.graphs): attribution and pruning. The pruning thresholds are circuit-tracer's, so
    that a threshold means the same in both tools."""

    max_n_logits: int = 10
    """The most probable next tokens attributed..."""
    desired_logit_prob: float = 0.95
    """...until their probabilities add up to this."""
    max_feature_nodes: int = 4096
    """Latents given incoming edges."""
    batch_size: int = 64
    """Targets per backward pass."""
    node_threshold: float = 0.8
    """Share of the logits' influence covered by the nodes kept."""
    edge_threshold: float = 0.98
    """Share of the influence covered by the edges kept."""


GRAPH = GraphDefaults()
