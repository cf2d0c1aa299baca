"""Oncoregistry domain core: NAACCR dictionaries, the analytic store, and (later) statistics and privacy."""
