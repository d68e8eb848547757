"""Personas: the deck's five customer types and their scenarios, loaded from YAML and validated.

Pure code: no telegram, no sqlalchemy. `load_catalog()` is the one entry point the rest uses.
"""
