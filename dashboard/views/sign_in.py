"""Sign-in page: local account form, or the registry's identity provider when one is configured."""

from __future__ import annotations

from dashboard.session import sign_in_page

sign_in_page()
