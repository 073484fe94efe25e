"""Lint rules over the IR (in progress)."""
