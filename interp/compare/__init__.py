"""Comparing two models: how alike their representations are layer by layer (linear CKA, `cka`)."""

from interp.compare.cka import chance_cka, layer_similarity, linear_cka, random_twin

__all__ = ["chance_cka", "layer_similarity", "linear_cka", "random_twin"]
