"""``python -m archdsl`` runs the CLI."""

from archdsl.cli import main

main()
