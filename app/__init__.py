"""Streamlit front end: pages call the library; no analysis lives here (tests/test_layering.py checks)."""

__all__: list[str] = []
