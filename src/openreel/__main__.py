"""``python -m openreel`` runs the CLI."""

from __future__ import annotations

from openreel.cli import main

main()
