"""Comparing two models: how alike their representations are layer by layer (linear CKA, `cka`), and which heads
play which role in each (`role_match`)."""

from interp.compare.cka import chance_cka, layer_similarity, linear_cka, random_twin
from interp.compare.role_match import compare_roles

__all__ = ["chance_cka", "compare_roles", "layer_similarity", "linear_cka", "random_twin"]
