"""Users: create, list, disable, sign in with a password; the first admin from ADMIN_PASSWORD."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from rakuten_mlops.auth.models import User
from rakuten_mlops.auth.passwords import hash_password, verify_password
from rakuten_mlops.auth.roles import Principal, Role, parse_role
from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import utcnow
from rakuten_mlops.errors import AuthenticationError, DataError
from rakuten_mlops.monitoring._db import as_utc, database_error

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
FIRST_ADMIN = "admin"
# One sentence for a wrong name and a wrong password alike: it must not tell which names exist.
BAD_LOGIN = "unknown user or wrong password"


@dataclass(frozen=True)
class UserRecord:
    """One user as shown to an admin (never the hash)."""

    name: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    def principal(self, via: str = "password") -> Principal:
        """This user acting."""
        return Principal(self.name, self.role, via)


def _record(row: User) -> UserRecord:
    return UserRecord(
        name=row.name,
        role=Role(row.role),
        disabled=row.disabled,
        created_at=as_utc(row.created_at),
        last_login_at=None if row.last_login_at is None else as_utc(row.last_login_at),
    )


def check_name(name: str) -> str:
    """A user name if it is acceptable (letters, digits, '_', '.', '@', '-'; at most 64)."""
    if not _NAME.fullmatch(name):
        raise DataError(
            f"user name {name[:80]!r} is not valid: 1 to 64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def create_user(engine: Engine, name: str, role: Role | str, password: str | None) -> UserRecord:
    """Store a new user (a password is optional: a user may hold API tokens only)."""
    check_name(name)
    chosen = role if isinstance(role, Role) else parse_role(role)
    hashed = None if password is None else hash_password(password)
    row = User(name=name, role=chosen.value, password_hash=hashed, disabled=False, created_at=utcnow())
    try:
        with session_scope(engine) as session:
            session.add(row)
            session.flush()
            return _record(row)
    except IntegrityError:
        raise DataError(f"there is already a user named {name!r}") from None
    except SQLAlchemyError as exc:
        raise database_error(f"creating user {name!r}", engine, exc) from exc


def list_users(engine: Engine) -> list[UserRecord]:
    """Every user, by name."""
    try:
        with session_scope(engine) as session:
            return [_record(row) for row in session.scalars(select(User).order_by(User.name))]
    except SQLAlchemyError as exc:
        raise database_error("listing users", engine, exc) from exc


def get_user(engine: Engine, name: str) -> UserRecord:
    """One user by name, or a DataError."""
    try:
        with session_scope(engine) as session:
            row = session.scalar(select(User).where(User.name == name))
            if row is None:
                raise DataError(f"there is no user named {name!r} (see rakuten-mlops users list)")
            return _record(row)
    except SQLAlchemyError as exc:
        raise database_error(f"reading user {name!r}", engine, exc) from exc


def _update(engine: Engine, name: str, what: str, **values: object) -> UserRecord:
    try:
        with session_scope(engine) as session:
            row = session.scalar(select(User).where(User.name == name).with_for_update())
            if row is None:
                raise DataError(f"there is no user named {name!r} (see rakuten-mlops users list)")
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return _record(row)
    except SQLAlchemyError as exc:
        raise database_error(f"{what} user {name!r}", engine, exc) from exc


def disable_user(engine: Engine, name: str) -> UserRecord:
    """Disable a user: no more sign-in, and every token of theirs stops working at once."""
    return _update(engine, name, "disabling", disabled=True)


def enable_user(engine: Engine, name: str) -> UserRecord:
    """Let a disabled user sign in again (their tokens revoked meanwhile stay revoked)."""
    return _update(engine, name, "enabling", disabled=False)


def set_role(engine: Engine, name: str, role: Role | str) -> UserRecord:
    """Give a user another role."""
    chosen = role if isinstance(role, Role) else parse_role(role)
    return _update(engine, name, "changing the role of", role=chosen.value)


def set_password(engine: Engine, name: str, password: str) -> UserRecord:
    """Replace a user's password."""
    return _update(engine, name, "setting the password of", password_hash=hash_password(password))


def authenticate(engine: Engine, name: str, password: str) -> UserRecord:
    """The user whose name and password these are, or AuthenticationError (same words for every cause)."""
    try:
        with session_scope(engine) as session:
            row = session.scalar(select(User).where(User.name == name))
            # Verified even for an unknown name, so the answer takes as long either way.
            matched = verify_password(password, None if row is None else row.password_hash)
            if row is None or not matched or row.disabled:
                raise AuthenticationError(BAD_LOGIN)
            row.last_login_at = utcnow()
            session.flush()
            return _record(row)
    except SQLAlchemyError as exc:
        raise database_error("checking a sign-in", engine, exc) from exc


def ensure_first_admin(engine: Engine, password: str | None) -> UserRecord | None:
    """With no user at all and ADMIN_PASSWORD set, create the user `admin`; the new user, or None."""
    if not password:
        return None
    try:
        with session_scope(engine) as session:
            if session.scalar(select(func.count()).select_from(User)):
                return None
    except SQLAlchemyError as exc:
        raise database_error("counting users", engine, exc) from exc
    try:
        return create_user(engine, FIRST_ADMIN, Role.ADMIN, password)
    except DataError as exc:
        if "already a user" in str(exc):  # another process created it first
            return None
        raise DataError(f"ADMIN_PASSWORD cannot be used: {exc}") from None
