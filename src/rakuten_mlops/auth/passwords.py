"""Password hashing with argon2 (pwdlib), and the checks a new password must pass."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from rakuten_mlops.errors import DataError

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    """The process's argon2id hasher with pwdlib's recommended parameters."""
    return PasswordHash((Argon2Hasher(),))


def check_password(password: str) -> str:
    """The password if it is acceptable, else a DataError saying why (never echoing it)."""
    if len(password) < MIN_PASSWORD:
        raise DataError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise DataError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2 hash of an acceptable password."""
    return hasher().hash(check_password(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether `password` matches; an absent hash costs one verification too (no timing difference)."""
    if len(password) > MAX_PASSWORD:
        return False
    matched = hasher().verify(password, password_hash or _dummy_hash())
    return matched and password_hash is not None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not a password of anyone")
