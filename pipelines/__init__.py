"""Pipelines that bring registry files into the analytic store and out again: readers, loading, export."""
