"""The search spaces that ship with automl (installed as the package automl.search_spaces)."""
