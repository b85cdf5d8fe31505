"""The exception tree of the package.

Every error a user can cause derives from ``MlopsError`` and carries a message that
says what to fix. The CLI prints that message and exits non-zero; the API maps the
same errors to 4xx answers.

    MlopsError
    ├── ConfigError            a setting is missing or unusable
    ├── DatabaseError          the database is unreachable or not migrated
    ├── DataError              input data is unusable
    │   └── ValidationError    a file breaks the expected shape (file, column, row, value)
    ├── ModelError             no model, or a model that cannot be loaded
    ├── RegistryError          an MLflow registry operation was refused
    └── AuthError              who is asking, and whether they may
        ├── AuthenticationError    missing, wrong, disabled or revoked credentials (API: 401)
        └── PermissionDeniedError  a role that may not do this (API: 403)
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base class of every error the package raises on purpose."""


class ConfigError(MlopsError):
    """A setting is missing, unparseable or unusable."""


class DatabaseError(MlopsError):
    """The database cannot be reached or is not at the expected schema."""


class DataError(MlopsError):
    """Input data cannot be used."""


class ValidationError(DataError):
    """A file is rejected: names the file, the column, the first offending row and value."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        self.source = source
        self.problem = problem
        self.column = column
        self.row = row
        self.value = value
        where = [f"file {source}"]
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        message = f"{', '.join(where)}: {problem}"
        if value is not None:
            shown = repr(value)
            message += f" (value {shown[:80] + '…' if len(shown) > 80 else shown})"
        super().__init__(message + "; nothing was written")


class ModelError(MlopsError):
    """No model is available, or a model cannot be loaded or used."""


class RegistryError(MlopsError):
    """An MLflow registry operation was refused or failed."""


class AuthError(MlopsError):
    """Base of the errors about who is asking and what they may do."""


class AuthenticationError(AuthError):
    """Credentials are missing, wrong, disabled or revoked."""


class PermissionDeniedError(AuthError):
    """The user is known, but their role may not do this."""
