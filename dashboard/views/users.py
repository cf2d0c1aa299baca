"""Users (administrators): the registry's accounts, and every change to one (add, role and grants, disable or
enable, password reset, a forced password change) with the reason recorded in the audit trail; each account's
sign-in history."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard.common import require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table, when
from registry.api import (
    GRANTS,
    MANAGE_USERS,
    ROLES,
    OperationalStore,
    Principal,
    RegistryError,
    allowed,
    create_user,
    disable_user,
    enable_user,
    get_user,
    list_users,
    locked_until,
    require_password_change,
    reset_password,
    sign_in_history,
    update_user,
)

NOTICE_KEY = "users_notice"     # what the last change did, shown once after the rerun
SECRET_KEY = "users_secret"     # a generated password, shown once to hand over
ACCOUNT_LABELS = {"user": "User", "display_name": "Name", "role": "Role", "grants": "Grants", "state": "State",
                  "must_change_password": "Must change password", "locked_until": "Locked until",
                  "last_sign_in": "Last sign-in"}
HISTORY_LABELS = {"attempted_at": "Time", "outcome": "Outcome", "source": "Source", "locked_until": "Locks until"}


def accounts_table(ops: OperationalStore) -> pd.DataFrame:
    """Every account as administrators read it: role, grants, state, lockout and last sign-in."""
    rows = []
    for account in list_users(ops):
        lock = locked_until(ops, account.user)
        rows.append({"user": account.user, "display_name": account.display_name, "role": account.role,
                     "grants": ", ".join(sorted(account.grants)),
                     "state": "disabled" if account.disabled else "active",
                     "must_change_password": "yes" if account.must_change_password else "",
                     "locked_until": when(lock) if lock else "",
                     "last_sign_in": when(account.last_sign_in) if account.last_sign_in else "never"})
    return pd.DataFrame(rows, columns=list(ACCOUNT_LABELS))


def change(name: str, reason: str, act: Callable[[str], object], notice: str) -> None:
    """Carry out one change with its reason (required); a refusal is shown, success is noted for the rerun,
    with the generated password when the change made one."""
    if not reason.strip():
        st.error(f"{name}: give a reason; it is recorded in the audit trail.")
        return
    try:
        done = act(reason.strip())
    except RegistryError as exc:
        st.error(str(exc))
        return
    st.session_state[NOTICE_KEY] = notice
    if isinstance(done, str):       # a generated password
        st.session_state[SECRET_KEY] = done
    st.rerun()


def add_form(principal: Principal, ops: OperationalStore) -> None:
    """A new account; its generated password is shown once, to be changed at first sign-in."""
    with st.form("user-add"):
        left, middle, right = st.columns(3)
        user = left.text_input("User name", key="add_user")
        display_name = middle.text_input("Name shown", key="add_display_name")
        role = right.selectbox("Role", ROLES, key="add_role")
        grants = left.multiselect("Grants", sorted(GRANTS), key="add_grants")
        reason = middle.text_input("Reason", key="add_reason")
        if st.form_submit_button("Add user", key="add_submit"):
            change("Add user", reason, lambda why: create_user(
                ops, user.strip(), role, grants=grants, display_name=display_name.strip(), actor=principal,
                reason=why), f"User {user.strip()!r} added as {role}. Hand over the password below; it must be "
                             "changed at first sign-in.")


def account_forms(principal: Principal, ops: OperationalStore, user: str) -> None:
    """The changes an administrator can make to one account, each with its reason."""
    account = get_user(ops, user)
    if account is None:
        st.error(f"No user {user!r}.")
        return
    left, right = st.columns(2)
    with left.form(f"user-role-{user}"):
        role = st.selectbox("Role", ROLES, index=ROLES.index(account.role), key=f"role_role-{user}")
        grants = st.multiselect("Grants", sorted(GRANTS), default=sorted(account.grants), key=f"role_grants-{user}")
        reason = st.text_input("Reason", key=f"role_reason-{user}")
        if st.form_submit_button("Change role and grants", key=f"role_submit-{user}"):
            change("Role and grants", reason, lambda why: update_user(
                ops, user, role=role, grants=grants, actor=principal, reason=why),
                f"{user} is now {role}" + (f" with {', '.join(sorted(grants))}." if grants else "."))
    with right.form(f"user-state-{user}"):
        verb = "Enable" if account.disabled else "Disable"
        st.caption("A disabled account cannot sign in; its open sessions end at once." if verb == "Disable"
                   else "This account is disabled.")
        reason = st.text_input("Reason", key=f"state_reason-{user}")
        if st.form_submit_button(verb, key=f"state_submit-{user}"):
            act = enable_user if account.disabled else disable_user
            change(verb, reason, lambda why: act(ops, user, actor=principal, reason=why),
                   f"{user} {'enabled' if account.disabled else 'disabled'}.")
    with left.form(f"user-reset-{user}"):
        st.caption("A new random password, shown once; the user changes it at next sign-in. Ends the user's "
                   "sessions and lifts a lockout.")
        reason = st.text_input("Reason", key=f"reset_reason-{user}")
        if st.form_submit_button("Reset password", key=f"reset_submit-{user}"):
            change("Reset password", reason, lambda why: reset_password(ops, user, actor=principal, reason=why),
                   f"New temporary password of {user}; hand it over, it must be changed at next sign-in.")
    with right.form(f"user-force-{user}"):
        st.caption("The user keeps the password but must choose a new one before anything else, in open "
                   "sessions too.")
        reason = st.text_input("Reason", key=f"force_reason-{user}")
        if st.form_submit_button("Force a password change", key=f"force_submit-{user}"):
            change("Force a password change", reason, lambda why: require_password_change(
                ops, user, reason=why, actor=principal), f"{user} must change the password before going on.")
    st.subheader(f"Sign-in history of {user}")
    history = pd.DataFrame([vars(a) for a in sign_in_history(ops, user, 50, actor=principal)],
                           columns=list(HISTORY_LABELS))
    if history.empty:
        st.info("No sign-in attempt under this name.")
    else:
        history["attempted_at"] = history["attempted_at"].map(when)
        history["locked_until"] = history["locked_until"].map(lambda v: when(v) if v else "")
        show_table(history, columns=list(HISTORY_LABELS), labels=HISTORY_LABELS)


principal, _ = require_principal()
st.title("Users")
if not allowed(principal, MANAGE_USERS):
    st.error("User accounts are managed by administrators.")
    st.stop()
ops = operational_store()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
if secret := st.session_state.pop(SECRET_KEY, None):
    st.code(secret, language=None)
    st.caption("Shown only now: it is not stored anywhere readable.")
accounts = accounts_table(ops)
show_table(accounts, columns=list(ACCOUNT_LABELS), labels=ACCOUNT_LABELS)
st.subheader("Add a user")
add_form(principal, ops)
st.subheader("Change an account")
names = accounts["user"].tolist()
chosen = st.selectbox("Account", names, key="users_chosen")
if chosen:
    account_forms(principal, ops, str(chosen))
