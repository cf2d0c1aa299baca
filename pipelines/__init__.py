"""Pipelines that bring registry files into the analytic store: readers, loading, export, CLI."""
