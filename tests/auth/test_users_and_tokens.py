"""Users and personal tokens on SQLite and PostgreSQL: argon2 passwords, hashed tokens, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from rakuten_mlops.auth.roles import Role
from rakuten_mlops.auth.tokens import authenticate_token, issue_token, list_tokens, revoke_token
from rakuten_mlops.auth.users import (
    BAD_LOGIN,
    authenticate,
    create_user,
    disable_user,
    ensure_first_admin,
    list_users,
    set_role,
)
from rakuten_mlops.errors import AuthenticationError, DataError


def test_a_user_signs_in_with_the_password_stored_as_an_argon2_hash(engine: Engine) -> None:
    create_user(engine, "alice", "operator", "correct horse battery")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users WHERE name = 'alice'")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    user = authenticate(engine, "alice", "correct horse battery")
    assert (user.name, user.role, user.last_login_at is not None) == ("alice", Role.OPERATOR, True)


def test_wrong_password_unknown_name_and_disabled_user_get_the_same_answer(engine: Engine) -> None:
    create_user(engine, "bob", "viewer", "bob-password-1")
    create_user(engine, "carol", "admin", "carol-password-1")
    disable_user(engine, "carol")
    for name, password in (
        ("bob", "not-his-password"),
        ("nobody", "bob-password-1"),
        ("carol", "carol-password-1"),
    ):
        with pytest.raises(AuthenticationError) as refused:
            authenticate(engine, name, password)
        assert str(refused.value) == BAD_LOGIN


def test_bad_names_roles_passwords_and_duplicates_are_refused_with_the_reason(engine: Engine) -> None:
    with pytest.raises(DataError, match="not one of viewer, operator, admin"):
        create_user(engine, "dave", "root", "long-enough-1")
    with pytest.raises(DataError, match="at least 8 characters"):
        create_user(engine, "dave", "viewer", "short")
    with pytest.raises(DataError, match="user name"):
        create_user(engine, "dave smith", "viewer", "long-enough-1")
    create_user(engine, "dave", "viewer", None)
    with pytest.raises(DataError, match="already a user named 'dave'"):
        create_user(engine, "dave", "admin", "long-enough-1")
    assert [(u.name, u.role) for u in list_users(engine)] == [("dave", Role.VIEWER)]


def test_the_first_admin_comes_from_admin_password_only_while_there_is_no_user(engine: Engine) -> None:
    assert ensure_first_admin(engine, None) is None
    first = ensure_first_admin(engine, "first-admin-password")
    assert first is not None and (first.name, first.role) == ("admin", Role.ADMIN)
    assert ensure_first_admin(engine, "another-password-1") is None
    authenticate(engine, "admin", "first-admin-password")


def test_a_token_is_shown_once_stored_hashed_and_refused_once_revoked(engine: Engine) -> None:
    create_user(engine, "erin", "operator", None)
    issued = issue_token(engine, "erin")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert issued.token.split("_")[-1] not in stored and len(stored) == 64
    principal = authenticate_token(engine, issued.token)
    assert (principal.name, principal.role, principal.via) == ("erin", Role.OPERATOR, "token")
    assert list_tokens(engine, "erin")[0].last_used_at is not None
    revoke_token(engine, issued.prefix)
    with pytest.raises(AuthenticationError):
        authenticate_token(engine, issued.token)


def test_a_forged_token_or_one_of_a_disabled_user_is_refused(engine: Engine) -> None:
    create_user(engine, "frank", "admin", None)
    issued = issue_token(engine, "frank")
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    for bad in (forged, "rkm_AAAAAAAAAAAA_" + "x" * 43, "not-a-token", ""):
        with pytest.raises(AuthenticationError):
            authenticate_token(engine, bad)
    set_role(engine, "frank", "viewer")
    assert authenticate_token(engine, issued.token).role == Role.VIEWER  # the role is read at each call
    disable_user(engine, "frank")
    with pytest.raises(AuthenticationError):
        authenticate_token(engine, issued.token)
    with pytest.raises(DataError, match="disabled"):
        issue_token(engine, "frank")
