"""The graphviz backend (in progress)."""
