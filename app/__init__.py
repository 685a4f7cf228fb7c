"""Streamlit front end (see issue: Streamlit app). Pages call the library; no analysis lives here."""
