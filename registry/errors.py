"""Every error a user of the registry can meet, in one family under `RegistryError`.

Pages and the command show a `RegistryError`'s message to the person and let anything else surface as a
bug. Errors a caller may also treat as bad input (`InvalidRequest`, `NotComputable`) are `ValueError`s too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose."""


# ---- requests and statistics ------------------------------------------------------------------------

class InvalidRequest(RegistryError, ValueError):
    """A request names something that does not exist or cannot be combined: an unknown stage group,
    method or comparison, years in the wrong order, an age range off the age-group limits..."""


class NotComputable(RegistryError, ValueError):
    """A statistic cannot be computed for this selection: no population (denominators) or life table
    is loaded for it, or the data hold too little (a trend needs three years with cases)."""


class InvalidDefinition(InvalidRequest):
    """A cohort definition cannot be used: malformed JSON, an unknown kind, field or item, an impossible range,
    or a code not in its code list. The message names the group and criterion."""


# ---- access --------------------------------------------------------------------------------------

class AccessDenied(RegistryError):
    """The caller's role or grants do not allow this data or action."""


# ---- accounts and sessions --------------------------------------------------------------------------

class AccountError(RegistryError):
    """A user-management request cannot be carried out (unknown or duplicate user, bad role...)."""


class PasswordPolicyError(AccountError):
    """A new password does not meet the password policy."""


class AuthenticationError(RegistryError):
    """A sign-in failed. The message never says whether the user exists, and never holds a secret."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


class PasswordChangeRequired(AuthenticationError):
    """The password was right but is temporary (generated, reset or flagged by an administrator): nothing is
    done for the account until its owner has chosen a new one."""


class SessionEnded(RegistryError):
    """A session token is not, or no longer, valid: malformed, forged, unknown, expired or revoked.

    The message is for the person whose session it was; `reason` is a short code for the audit trail.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# ---- stores and files -------------------------------------------------------------------------------

class DictionaryError(RegistryError):
    """A NAACCR dictionary is missing, unsupported or malformed."""


class StoreError(RegistryError):
    """The analytic store cannot be opened, migrated or written."""


class StoreBusyError(StoreError):
    """Another process holds the analytic store's lock for longer than we were willing to wait."""


class OperationalStoreError(RegistryError):
    """The operational store cannot be opened, migrated or written."""


class AuditSealError(RegistryError):
    """The audit key or the high-water mark is unreadable, malformed or does not carry a valid MAC."""


class SourceFileError(RegistryError):
    """A file as a whole cannot be read (not well-formed, wrong root, truncated, wrong encoding...).

    Nothing of such a file is loaded. The message names the file, the line (when known) and the item.
    """

    def __init__(self, path: Path | str, reason: str, *, line: int | None = None,
                 naaccr_id: str | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        self.naaccr_id = naaccr_id
        where = f"{self.path}" + (f", line {line}" if line else "") + (f", item {naaccr_id}" if naaccr_id else "")
        super().__init__(f"{where}: {reason}")
