"""The datasets store: versions in the `datasets` and `dataset_versions` tables, files under MLOPS_HOME/datasets.

An upload is kept as it came (`files/<hash>/<name>`) and as Parquet (`files/<hash>/data.parquet`,
every row). Adding the same bytes to the same dataset again returns the existing version. A file
that cannot be read, or is over the size limit, raises ``ValidationError`` before anything is
written. A preprocessed version is written with its lineage, its fitted pipeline and its run log.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from rakuten_mlops.config import Settings
from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import Dataset, DatasetVersion, utcnow
from rakuten_mlops.errors import DatabaseError, DataError, ValidationError
from rakuten_mlops.tables.frames import arrow_to_frame, frame_to_arrow
from rakuten_mlops.tables.reading import read_table
from rakuten_mlops.tables.records import (
    AddResult,
    DatasetDetail,
    DatasetSummary,
    Lineage,
    SchemaColumn,
    VersionSummary,
)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class DatasetNotFoundError(DataError):
    """No dataset (or no version of it) has the name or number asked for."""


def as_utc(value: datetime) -> datetime:
    """The timestamp as aware UTC (SQLite hands back naive datetimes that were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_error(what: str, engine: Engine, exc: SQLAlchemyError) -> DatabaseError:
    """A DatabaseError naming the operation and the database, with the usual remedy."""
    return DatabaseError(
        f"{what} failed on {engine.url.render_as_string()}: {exc.__class__.__name__}; "
        "is the database running and migrated (rakuten-mlops db upgrade)?"
    )


def dataset_name(text: str, *, from_file: bool = False) -> str:
    """A dataset name: a user's choice as given, or derived from a file name; letters, digits, '.', '_', '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(text).stem).strip("-._")[:100] if from_file else text
    if not NAME.fullmatch(name):
        raise DataError(f"{text!r} cannot name a dataset: use letters, digits, '.', '_' or '-' (at most 100)")
    return name


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class DatasetStore:
    """Datasets and their versions, on one database and one folder."""

    def __init__(self, engine: Engine, root: Path, max_bytes: int) -> None:
        self.engine = engine
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> DatasetStore:
        """The store of these settings (MLOPS_HOME/datasets, DATASET_MAX_MB)."""
        return cls(engine, settings.datasets_dir, settings.dataset_max_bytes)

    # ------------------------------------------------------------------ adding

    def add(self, path: Path, name: str | None = None, *, filename: str | None = None) -> AddResult:
        """Add a file as a new version of `name` (default: the file's name); the same bytes again change nothing."""
        shown = filename or path.name
        chosen = dataset_name(name) if name else dataset_name(shown, from_file=True)
        if not path.is_file():
            raise ValidationError(shown, "does not exist or is not a file")
        size = path.stat().st_size
        if size > self.max_bytes:
            raise ValidationError(
                shown,
                f"is {size / 1024**2:,.1f} MB, over the {self.max_bytes / 1024**2:,.0f} MB limit for a dataset "
                "(DATASET_MAX_MB); split it or raise the limit",
            )
        digest = file_hash(path)
        existing = self._find_hash(chosen, digest)
        if existing is not None:
            return AddResult(
                name=chosen,
                version=existing.version,
                rows=existing.rows,
                columns=existing.columns,
                hash=digest,
                created=False,
                source=existing.source,
                format=existing.format,
                options=json.loads(existing.read_options),
            )
        read = read_table(path, name=shown)
        folder = self.root / "files" / digest
        kept = folder / "upload" / _safe_file_name(shown)
        if not (folder / "data.parquet").exists():
            self._write_files(folder, path, kept.name, read.table)
        schema = [{"name": f.name, "dtype": str(f.type)} for f in read.table.schema]
        row = DatasetVersion(
            content_hash=digest,
            source=shown,
            format=read.format,
            rows=read.table.num_rows,
            columns=read.table.num_columns,
            size_bytes=size,
            schema=json.dumps(schema),
            read_options=json.dumps(read.options),
            file_path=str(kept.relative_to(self.root)),
            data_path=str((folder / "data.parquet").relative_to(self.root)),
        )
        version = self._insert(chosen, row)
        return AddResult(
            name=chosen,
            version=version,
            rows=row.rows,
            columns=row.columns,
            hash=digest,
            created=True,
            source=shown,
            format=read.format,
            options=read.options,
        )

    def _write_files(self, folder: Path, source: Path, file_name: str, table: pa.Table) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder.parent))
        try:
            (staging / "upload").mkdir()
            shutil.copyfile(source, staging / "upload" / file_name)
            pq.write_table(table, staging / "data.parquet")
            staging.rename(folder)  # atomic: a half-written upload is never seen
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not folder.exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def add_version(
        self, name: str, parent: int, frame: pd.DataFrame, lineage: dict[str, Any], pipeline: Any
    ) -> DatasetDetail:
        """Store a preprocessed version of `name` derived from version `parent`, with its lineage and pipeline."""
        from rakuten_mlops.tables.pipeline import save_pipeline

        table = frame_to_arrow(frame)
        staging = Path(tempfile.mkdtemp(prefix=".derived-", dir=self._mkdir(self.root / "versions")))
        pq.write_table(table, staging / "data.parquet")
        digest = file_hash(staging / "data.parquet")
        folder = self.root / "versions" / digest
        if not folder.exists():
            staging.rename(folder)
        shutil.rmtree(staging, ignore_errors=True)
        pipeline_path = save_pipeline(pipeline, folder / "pipeline.joblib")
        data_path = str((folder / "data.parquet").relative_to(self.root))
        schema = [{"name": f.name, "dtype": str(f.type)} for f in table.schema]
        row = DatasetVersion(
            content_hash=digest,
            source=f"preprocess of version {parent}",
            format="parquet",
            rows=table.num_rows,
            columns=table.num_columns,
            size_bytes=(folder / "data.parquet").stat().st_size,
            schema=json.dumps(schema),
            read_options="{}",
            file_path=data_path,
            data_path=data_path,
            parent_version=parent,
            steps=json.dumps(lineage["steps"], default=str),
            parameters=json.dumps(lineage["parameters"], default=str),
            pipeline_path=str(pipeline_path.relative_to(self.root)),
            run_id=lineage.get("run_id"),
            log_path=lineage.get("log"),
        )
        version = self._insert(name, row, must_exist=True)
        return self.show(name, version)

    def _insert(self, name: str, row: DatasetVersion, must_exist: bool = False) -> int:
        try:
            with session_scope(self.engine) as session:
                dataset = session.scalar(select(Dataset).where(Dataset.name == name))
                if dataset is None:
                    if must_exist:
                        raise DatasetNotFoundError(f"no dataset is named {name!r}")
                    dataset = Dataset(name=name)
                    session.add(dataset)
                    session.flush()
                latest = session.scalar(
                    select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset.id)
                )
                row.dataset_id, row.version = dataset.id, (latest or 0) + 1
                dataset.updated_at = utcnow()
                session.add(row)
                return row.version
        except IntegrityError as exc:
            raise DataError(f"another version of {name!r} was added at the same time; retry") from exc
        except SQLAlchemyError as exc:
            raise database_error(f"adding a version of dataset {name!r}", self.engine, exc) from exc

    @staticmethod
    def _mkdir(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ------------------------------------------------------------------ reading

    def _find_hash(self, name: str, digest: str) -> DatasetVersion | None:
        query = (
            select(DatasetVersion)
            .join(Dataset)
            .where(Dataset.name == name, DatasetVersion.content_hash == digest)
        )
        found: DatasetVersion | None = self._read(
            f"looking up dataset {name!r}",
            lambda s: s.scalars(query.order_by(DatasetVersion.version)).first(),
        )
        return found

    def _read(self, what: str, work: Any) -> Any:
        try:
            with session_scope(self.engine) as session:
                return work(session)
        except SQLAlchemyError as exc:
            raise database_error(what, self.engine, exc) from exc

    def _version(self, session: Session, name: str, version: int | None) -> DatasetVersion:
        dataset = session.scalar(select(Dataset).where(Dataset.name == name))
        if dataset is None:
            known = session.scalars(select(Dataset.name).order_by(Dataset.name).limit(20)).all()
            raise DatasetNotFoundError(
                f"no dataset is named {name!r}; known datasets: {', '.join(known) or 'none yet'}"
            )
        query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
        query = (
            query.where(DatasetVersion.version == version)
            if version is not None
            else query.order_by(DatasetVersion.version.desc())
        )
        found = session.scalars(query).first()
        if found is None:
            raise DatasetNotFoundError(f"dataset {name!r} has no version {version}")
        return found

    def list(self) -> list[DatasetSummary]:
        """Every dataset with the figures of its newest version, most recently updated first."""

        def work(session: Session) -> list[DatasetSummary]:
            out = []
            for dataset in session.scalars(select(Dataset).order_by(Dataset.updated_at.desc(), Dataset.name)):
                rows = session.scalars(
                    select(DatasetVersion)
                    .where(DatasetVersion.dataset_id == dataset.id)
                    .order_by(DatasetVersion.version)
                ).all()
                if rows:
                    last = rows[-1]
                    out.append(
                        DatasetSummary(
                            name=dataset.name,
                            latest_version=last.version,
                            versions=len(rows),
                            rows=last.rows,
                            columns=last.columns,
                            hash=last.content_hash,
                            source=last.source,
                            created_at=as_utc(dataset.created_at),
                            updated_at=as_utc(dataset.updated_at),
                        )
                    )
            return out

        result: list[DatasetSummary] = self._read("listing datasets", work)
        return result

    def show(self, name: str, version: int | None = None) -> DatasetDetail:
        """One version (the newest by default) with its schema, lineage and the dataset's history."""

        def work(session: Session) -> DatasetDetail:
            row = self._version(session, name, version)
            history = session.scalars(
                select(DatasetVersion)
                .where(DatasetVersion.dataset_id == row.dataset_id)
                .order_by(DatasetVersion.version)
            ).all()
            lineage = None
            if row.parent_version is not None:
                lineage = Lineage(
                    parent_version=row.parent_version,
                    steps=json.loads(row.steps or "[]"),
                    parameters=json.loads(row.parameters or "{}"),
                    run_id=row.run_id,
                    pipeline=row.pipeline_path,
                    log=row.log_path,
                )
            versions = [
                VersionSummary(
                    version=v.version,
                    hash=v.content_hash,
                    rows=v.rows,
                    columns=v.columns,
                    source=v.source,
                    created_at=as_utc(v.created_at),
                    parent_version=v.parent_version,
                )
                for v in history
            ]
            schema = [SchemaColumn(**c) for c in json.loads(row.schema)]
            return DatasetDetail(
                name=name,
                version=row.version,
                hash=row.content_hash,
                rows=row.rows,
                columns=row.columns,
                source=row.source,
                format=row.format,
                size_bytes=row.size_bytes,
                created_at=as_utc(row.created_at),
                read_options=json.loads(row.read_options),
                schema=schema,
                lineage=lineage,
                versions=versions,
            )

        result: DatasetDetail = self._read(f"reading dataset {name!r}", work)
        return result

    def path(self, relative: str) -> Path:
        """A stored file's absolute path."""
        return self.root / relative

    def load_frame(self, name: str, version: int | None = None) -> pd.DataFrame:
        """Every row of a version as a pandas frame."""
        relative: str = self._read(
            f"reading dataset {name!r}", lambda s: self._version(s, name, version).data_path
        )
        return arrow_to_frame(pq.read_table(self.path(relative)))

    def load_pipeline(self, name: str, version: int | None = None) -> Any:
        """The fitted scikit-learn pipeline that produced a preprocessed version."""
        from rakuten_mlops.tables.pipeline import load_pipeline

        detail = self.show(name, version)
        if detail.lineage is None or detail.lineage.pipeline is None:
            raise DataError(
                f"version {detail.version} of {name!r} is an upload, not the output of preprocessing: it has no pipeline"
            )
        return load_pipeline(self.path(detail.lineage.pipeline))


def _safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    return cleaned[:150]
