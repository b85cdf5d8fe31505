"""Personal API tokens: issued once, stored as SHA-256, checked in constant time, revocable.

A token reads ``rkm_<prefix>_<secret>``: the prefix finds its row, the secret (32 random bytes)
is compared by hash. SHA-256 suffices for random secrets of this size (there is nothing to guess
from a dictionary) and keeps every API call cheap; passwords get argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.auth.models import ApiToken, User
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import utcnow
from rakuten_mlops.errors import AuthenticationError, DataError
from rakuten_mlops.monitoring._db import as_utc, database_error

TOKEN_PREFIX = "rkm"
_TOKEN = re.compile(rf"{TOKEN_PREFIX}_([A-Za-z0-9]{{12}})_([A-Za-z0-9_-]{{20,128}})")
BAD_TOKEN = "the bearer token is not valid (unknown, revoked, or its user is disabled)"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the only moment its value exists outside the caller's hands."""

    name: str
    role: Role
    token: str
    prefix: str


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (its prefix, never its value)."""

    prefix: str
    user: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(engine: Engine, name: str) -> IssuedToken:
    """A new personal token for user `name` (shown once; only its hash is stored)."""
    prefix = "".join(
        secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789") for _ in range(12)
    )
    secret = secrets.token_urlsafe(32)
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise DataError(f"there is no user named {name!r} (see rakuten-mlops users list)")
            if user.disabled:
                raise DataError(f"user {name!r} is disabled; enable them before issuing a token")
            session.add(
                ApiToken(prefix=prefix, token_hash=_digest(secret), user_id=user.id, created_at=utcnow())
            )
            role = Role(user.role)
    except SQLAlchemyError as exc:
        raise database_error(f"issuing a token for {name!r}", engine, exc) from exc
    return IssuedToken(name, role, f"{TOKEN_PREFIX}_{prefix}_{secret}", prefix)


def token_prefix(token: str) -> str | None:
    """The public prefix of a well-formed token, else None."""
    found = _TOKEN.fullmatch(token.strip())
    return found.group(1) if found else None


def authenticate_token(engine: Engine, token: str) -> Principal:
    """The user a bearer token belongs to, or AuthenticationError; revocation counts at once."""
    found = _TOKEN.fullmatch(token.strip())
    if found is None:
        raise AuthenticationError(BAD_TOKEN)
    prefix, secret = found.groups()
    try:
        with session_scope(engine) as session:
            row = session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == prefix)
            ).first()
            # Compared even when no row matched, so a wrong prefix costs as long as a wrong secret.
            stored = row[0].token_hash if row is not None else _digest("")
            matched = hmac.compare_digest(stored.encode(), _digest(secret).encode())
            if row is None or not matched or row[0].revoked_at is not None or row[1].disabled:
                raise AuthenticationError(BAD_TOKEN)
            row[0].last_used_at = utcnow()
            return Principal(row[1].name, Role(row[1].role), via="token")
    except SQLAlchemyError as exc:
        raise database_error("checking an API token", engine, exc) from exc


def list_tokens(engine: Engine, name: str | None = None) -> list[TokenInfo]:
    """Tokens newest first, of one user or of everyone."""
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if name is not None:
        query = query.where(User.name == name)
    try:
        with session_scope(engine) as session:
            return [
                TokenInfo(
                    token.prefix,
                    user,
                    as_utc(token.created_at),
                    None if token.last_used_at is None else as_utc(token.last_used_at),
                    None if token.revoked_at is None else as_utc(token.revoked_at),
                )
                for token, user in session.execute(query)
            ]
    except SQLAlchemyError as exc:
        raise database_error("listing tokens", engine, exc) from exc


def revoke_token(engine: Engine, prefix_or_token: str) -> TokenInfo:
    """Revoke a token by its prefix (or by the token itself); it is refused from the next request on."""
    prefix = token_prefix(prefix_or_token) or prefix_or_token.strip()
    try:
        with session_scope(engine) as session:
            row = session.execute(
                select(ApiToken, User.name)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == prefix)
            ).first()
            if row is None:
                raise DataError(
                    f"there is no token with prefix {prefix[:16]!r} (see rakuten-mlops users tokens)"
                )
            token, user = row
            if token.revoked_at is None:
                token.revoked_at = utcnow()
            session.flush()
            return TokenInfo(
                token.prefix,
                user,
                as_utc(token.created_at),
                None if token.last_used_at is None else as_utc(token.last_used_at),
                as_utc(token.revoked_at),
            )
    except SQLAlchemyError as exc:
        raise database_error("revoking a token", engine, exc) from exc
