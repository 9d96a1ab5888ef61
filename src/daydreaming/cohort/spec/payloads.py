"""File reading for specs: the spec document itself and ``@file:`` payloads.

Kept apart from ``loader`` so the validation logic there works on plain data (and can be
tested from dicts), while every filesystem and parser failure is turned into a
``SpecDslError`` naming the file here, in one place.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from daydreaming.cohort.spec.errors import SpecDslError
from daydreaming.yamlio import load_strict

FILE_PREFIX = "@file:"
SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def file_ref(value: Any) -> str | None:
    """The relative path of an ``'@file:<relpath>'`` reference, or None for any other value."""
    if isinstance(value, str) and value.startswith(FILE_PREFIX):
        return value[len(FILE_PREFIX):].strip()
    return None




def _read_text(file: Path, *, key: str | None, path: Path | None) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecDslError("file not found", key=key, path=path, file=file, cause=exc) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecDslError("file unreadable", key=key, path=path, file=file, cause=exc) from exc


def _parse_structured(text: str, file: Path, *, key: str | None, path: Path | None) -> Any:
    try:
        if file.suffix.lower() == ".json":
            return json.loads(text)
        return load_strict(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecDslError(
            "file does not parse", key=key, path=path, file=file, detail=str(exc), cause=exc
        ) from exc


def read_spec_document(file: Path) -> Any:
    """The parsed spec document (any type; the loader checks it is a mapping)."""
    if not file.is_file():
        raise SpecDslError("spec file not found", path=file)
    if file.suffix.lower() not in SPEC_SUFFIXES:
        raise SpecDslError("unsupported spec file type", path=file, value=file.suffix)
    data = _parse_structured(_read_text(file, key=None, path=file), file, key=None, path=file)
    return {} if data is None else data


def read_payload(file: Path, *, key: str, path: Path | None) -> Any:
    """Load an ``@file:`` payload by extension.

    ``.csv`` gives a list of strings (one column) or of tuples in header order; ``.txt`` the
    non-empty stripped lines; ``.yaml``/``.yml``/``.json`` the parsed data (an empty YAML file
    is an empty list). The caller validates the shape against where the payload is used.
    """
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".txt", *SPEC_SUFFIXES):
        raise SpecDslError("unsupported @file type", key=key, path=path, file=file, value=suffix)
    text = _read_text(file, key=key, path=path)
    if suffix == ".txt":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if suffix == ".csv":
        return _parse_csv(text, file, key=key, path=path)
    data = _parse_structured(text, file, key=key, path=path)
    return [] if data is None else data


def _parse_csv(text: str, file: Path, *, key: str, path: Path | None) -> list[Any]:
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    where: dict[str, Any] = {"key": key, "path": path, "file": file}
    if not rows:
        raise SpecDslError("@file CSV requires a header", **where)
    header = [cell.strip() for cell in rows[0][1]]
    if not all(header):
        raise SpecDslError("@file CSV header has an empty column name", value=header, **where)
    if len(rows) == 1:
        raise SpecDslError("@file CSV has no data rows", **where)
    records: list[tuple[str, ...]] = []
    for line, row in rows[1:]:
        cells = tuple(cell.strip() for cell in row)
        if len(cells) != len(header) or not all(cells):
            raise SpecDslError("@file CSV row has a missing or extra cell", row=line, value=list(cells), **where)
        records.append(cells)
    if len(header) == 1:
        return [cells[0] for cells in records]
    return records
