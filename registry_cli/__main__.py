"""`python -m registry_cli` runs the `registry` command (used by tests that need a separate process)."""

from registry_cli.app import app

app()
