"""``python -m alliance`` runs the command line."""

from alliance.cli import main

main()
