"""The command-line edge (Typer)."""
