"""Who is asking: the caller's identity that every data and governance function takes.

A `Principal` is deliberately small and immutable so it can be passed around, cached by the dashboard
and compared safely; it is produced by `registry.accounts.authenticate` (or, for the console, by
`console_operator`) and never carries a password or hash.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

REGISTRAR = "registrar"
RESEARCHER = "researcher"
ADMINISTRATOR = "administrator"
ROLES: tuple[str, ...] = (REGISTRAR, RESEARCHER, ADMINISTRATOR)

# Extra rights a role does not carry by itself: `lds` lets a researcher see a limited data set
# (dates, county, ZIP) instead of Safe Harbor de-identified data.
LDS = "lds"
GRANTS: frozenset[str] = frozenset({LDS})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: user name, one role from ROLES, and extra grants such as `lds`."""

    user: str
    role: str
    grants: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Refuse unknown roles and accept any iterable of grants (stored as a frozenset)."""
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}: expected one of {', '.join(ROLES)}")
        if not isinstance(self.grants, frozenset):
            object.__setattr__(self, "grants", frozenset(self.grants))


    def has_grant(self, name: str) -> bool:
        """Whether this caller holds the extra grant `name` (e.g. `lds`)."""
        return name in self.grants


def console_operator() -> Principal:
    """The person at the server's console (CLI): acts as administrator, since file access already
    gives full control of the stores; recorded in the audit trail as `console:<os user>`."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return Principal(user=f"console:{name}", role=ADMINISTRATOR)
