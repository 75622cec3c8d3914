"""``python -m openreel`` runs the CLI."""

from __future__ import annotations

from openreel.cli import main

# Guarded: the diffusers engine's child process is started with `spawn`, which imports the
# parent's main module again; it must not start a second CLI.
if __name__ == "__main__":
    main()
