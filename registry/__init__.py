"""Oncoregistry domain core: NAACCR dictionaries, the analytic and operational stores, statistics, access."""

from registry.principal import ROLES, Principal

__all__ = ["ROLES", "Principal"]
