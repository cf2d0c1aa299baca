"""The `registry` command: the top layer, above registry, pipelines, dashboard and sample_data."""
