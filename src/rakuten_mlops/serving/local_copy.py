"""The last champion the API served, kept under MLOPS_HOME so that the API starts while MLflow is down.

Each time the API loads a champion from the registry it keeps the native model file and a
manifest (model name, version, run, metrics, SHA-256 of the file). At start the API serves that
copy at once when its checksum matches, reports it as the model's source, and reconnects to the
registry in the background.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.model import TextClassifierModel

log = logging.getLogger(__name__)
MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class CopiedChampion:
    """A champion read back from the local copy."""

    name: str
    version: str
    run_id: str | None
    metrics: dict[str, float]
    model: TextClassifierModel


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalCopy:
    """One folder holding the newest champion's model file and its manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(
        self, name: str, version: str, run_id: str | None, metrics: dict[str, float], model: Path
    ) -> None:
        """Replace the copy with this champion (written aside, then renamed: never half-written)."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".champion-", dir=self.folder.parent))
        try:
            shutil.copy2(model, staging / MODEL_FILE)
            manifest = {
                "name": name,
                "version": version,
                "run_id": run_id,
                "metrics": metrics,
                "sha256": _sha256(staging / MODEL_FILE),
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
            old = self.folder.with_name(self.folder.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.folder.exists():
                os.replace(self.folder, old)
            os.replace(staging, self.folder)
            shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            log.warning("could not keep a local copy of v%s in %s: %s", version, self.folder, exc)

    def load(self, name: str) -> CopiedChampion | None:
        """The copied champion of model `name` when its file matches the manifest's checksum, else None."""
        manifest_path, model_path = self.folder / MANIFEST_FILE, self.folder / MODEL_FILE
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if manifest.get("name") != name:
            log.warning(
                "the local copy in %s is of model %r, not %r: ignored",
                self.folder,
                manifest.get("name"),
                name,
            )
            return None
        try:
            matches = _sha256(model_path) == manifest["sha256"]
            if not matches:
                log.warning("the local copy in %s does not match its checksum: ignored", self.folder)
                return None
            model = TextClassifierModel.load(model_path)
        except (OSError, KeyError, ModelError) as exc:
            log.warning("the local copy in %s cannot be read: %s", self.folder, exc)
            return None
        return CopiedChampion(
            name, str(manifest["version"]), manifest.get("run_id"), manifest.get("metrics", {}), model
        )
