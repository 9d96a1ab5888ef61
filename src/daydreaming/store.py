"""The gens store API: every read and write of a generation directory goes through here.

It enforces the earlier system's invariants (``raw.txt`` never without ``raw_metadata.json``;
``metadata.json`` never overwritten) and writes atomically, so the workflow, the cohort
compiler and future tools (status/check) share one implementation of the contract.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from . import paths as P
from .archive import archive_answer
from .errors import DDError, Err, validate_model
from .fsio import atomic_write_json, atomic_write_text, read_json, read_text
from .models import MainMetadata, ParsedMetadata, RawMetadata
from .repairs import file_repair, regenerate_command

M = TypeVar("M", bound=BaseModel)



@dataclass(frozen=True)
class GensDataLayer:
    paths: P.Paths

    @classmethod
    def from_root(cls, root: str | os.PathLike | P.Paths) -> GensDataLayer:
        return cls(root if isinstance(root, P.Paths) else P.Paths.from_str(root))

    # --- inspection ------------------------------------------------------------------------
    def present(self, stage: str, gen_id: str) -> frozenset[str]:
        """Names of the files in a generation directory, in one directory read."""
        try:
            with os.scandir(self.paths.generation_dir(stage, gen_id)) as entries:
                return frozenset(entry.name for entry in entries)
        except FileNotFoundError:
            return frozenset()

    def raw_invariant_error(self, stage: str, gen_id: str, present: frozenset[str] | None = None) -> DDError | None:
        """The DATA_MISSING error for ``raw.txt`` without ``raw_metadata.json``, if that is the state."""
        files = self.present(stage, gen_id) if present is None else present
        if P.RAW in files and P.RAW_METADATA not in files:
            return DDError(
                Err.DATA_MISSING,
                {
                    "stage": stage,
                    "gen_id": gen_id,
                    "artifact": "raw_metadata",
                    "reason": "raw_metadata_missing_for_existing_raw",
                    "path": str(self.paths.generation_dir(stage, gen_id)),
                    "fix": "buy a new answer for this generation only (raw.txt is archived, not deleted): "
                           + regenerate_command(self.paths, stage, [gen_id]),
                },
            )
        return None

    # --- reads -----------------------------------------------------------------------------
    def _read_text(self, stage: str, gen_id: str, name: str, artifact: str) -> str:
        try:
            return read_text(self.paths.gen_file(stage, gen_id, name))
        except DDError as err:
            raise self._unreadable(err, stage, gen_id, name, artifact) from None

    def _read_model(self, stage: str, gen_id: str, name: str, artifact: str, model: type[M]) -> M:
        path = self.paths.gen_file(stage, gen_id, name)
        try:
            data = read_json(path)
            return validate_model(model, data, "invalid_metadata", stage=stage, gen_id=gen_id, artifact=artifact,
                                  path=str(path))
        except DDError as err:
            raise self._unreadable(err, stage, gen_id, name, artifact) from None

    def _unreadable(self, err: DDError, stage: str, gen_id: str, name: str, artifact: str) -> DDError:
        """``err`` naming the generation and, for a file that is there but not whole (bad bytes,
        bad JSON, a record that does not match its model), the repair."""
        err.ctx.update({"stage": stage, "gen_id": gen_id, "artifact": artifact})
        if err.code in (Err.PARSER_FAILURE, Err.INVALID_CONFIG):
            err.ctx.setdefault("fix", file_repair(self.paths, stage, gen_id, name))
        return err

    def read_prompt(self, stage: str, gen_id: str) -> str:
        return self._read_text(stage, gen_id, P.PROMPT, "prompt")

    def read_raw(self, stage: str, gen_id: str) -> str:
        error = self.raw_invariant_error(stage, gen_id)
        if error:
            raise error
        return self._read_text(stage, gen_id, P.RAW, "raw")

    def read_parsed(self, stage: str, gen_id: str) -> str:
        return self._read_text(stage, gen_id, P.PARSED, "parsed")

    def read_main_metadata(self, stage: str, gen_id: str) -> MainMetadata:
        return self._read_model(stage, gen_id, P.METADATA, "metadata", MainMetadata)

    def read_raw_metadata(self, stage: str, gen_id: str) -> RawMetadata:
        return self._read_model(stage, gen_id, P.RAW_METADATA, "raw_metadata", RawMetadata)

    def read_parsed_metadata(self, stage: str, gen_id: str) -> ParsedMetadata:
        return self._read_model(stage, gen_id, P.PARSED_METADATA, "parsed_metadata", ParsedMetadata)

    # --- writes ----------------------------------------------------------------------------
    def create_main_metadata(self, meta: MainMetadata) -> bool:
        """Write ``metadata.json`` unless it exists (never overwritten); True when written."""
        path = self.paths.metadata_path(meta.stage, meta.gen_id)
        if path.exists():
            return False
        atomic_write_json(path, meta.to_json_dict())
        return True

    def create_new_generation(self, meta: MainMetadata) -> bool:
        """Make the directory of a generation that has none yet, with its ``metadata.json``
        (the compile of a new cohort makes 20,000: one mkdir and one write each, no existence
        checks). A directory that exists after all gets ``create_main_metadata``: never overwritten."""
        directory = self.paths.generation_dir(meta.stage, meta.gen_id)
        try:
            directory.mkdir()
        except FileExistsError:
            return self.create_main_metadata(meta)
        atomic_write_json(directory / P.METADATA, meta.to_json_dict())
        return True

    def write_prompt(self, stage: str, gen_id: str, text: str) -> Path:
        path = self.paths.prompt_path(stage, gen_id)
        atomic_write_text(path, text)
        return path

    def write_raw(self, stage: str, gen_id: str, text: str, meta: RawMetadata) -> None:
        """Metadata first, then the answer: a crash in between leaves no ``raw.txt`` orphan.

        A paid answer already there is moved to the archive first, never overwritten (a copy
        costs nothing and is simply replaced). Not fsync'd: the journal holds the answer
        durably until this returns (``daydreaming.journal``).
        """
        if self._holds_paid_answer(stage, gen_id):
            archive_answer(self.paths, stage, gen_id, "replaced")
        atomic_write_json(self.paths.raw_metadata_path(stage, gen_id), meta.to_json_dict())
        atomic_write_text(self.paths.raw_path(stage, gen_id), text)

    def _holds_paid_answer(self, stage: str, gen_id: str) -> bool:
        gen_dir = self.paths.generation_dir(stage, gen_id)
        if not (gen_dir / P.RAW).is_file() and not (gen_dir / P.RAW_METADATA).is_file():
            return False
        try:
            return read_json(self.paths.raw_metadata_path(stage, gen_id)).get("mode") != "copy"
        except (DDError, AttributeError):
            return True  # unreadable: keep it, whatever it was

    def write_parsed(self, stage: str, gen_id: str, text: str, meta: ParsedMetadata) -> None:
        atomic_write_text(self.paths.parsed_path(stage, gen_id), text)
        atomic_write_json(self.paths.parsed_metadata_path(stage, gen_id), meta.to_json_dict())

    def write_json_artifact(self, path: Path, data: dict[str, Any]) -> None:
        atomic_write_json(path, data)
