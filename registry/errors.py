"""Errors and warnings raised by the registry core."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose."""


class DictionaryError(RegistryError):
    """A NAACCR dictionary is missing, unsupported or malformed."""


class StoreError(RegistryError):
    """The analytic store cannot be opened, migrated or written."""


class StoreBusyError(StoreError):
    """Another process holds the analytic store's lock for longer than we were willing to wait."""
