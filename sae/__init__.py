"""Sparse autoencoders on workbench models, built on SAELens (training, evaluation and feature
analysis arrive with their issues; loading and inspection are here now)."""
