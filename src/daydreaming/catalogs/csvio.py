"""Reading catalog CSVs so that every error names the file, the line and the column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from ..errors import DDError, Err, validate_model

M = TypeVar("M", bound=BaseModel)

Record = tuple[int, dict[str, str]]  # (line number in the file, row)


def read_csv_records(path: Path, required: Iterable[str] = ()) -> tuple[list[str], list[Record]]:
    """The header and the rows (with their line numbers); malformed input is a coded error."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DDError(Err.DATA_MISSING, {"reason": "csv_file_missing", "path": str(path)}, exc)
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DDError(Err.INVALID_CONFIG, {"reason": "csv_empty", "path": str(path), "line": 1})
    except csv.Error as exc:
        raise DDError(
            Err.PARSER_FAILURE, {"reason": "csv_parse_error", "path": str(path), "line": 1, "error": str(exc)}
        )
    _check_header(path, header, required)
    records: list[Record] = []
    try:
        for values in reader:
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise DDError(
                    Err.PARSER_FAILURE,
                    {"reason": "csv_parse_error", "path": str(path), "line": reader.line_num,
                     "column": min(len(values), len(header)) + 1,
                     "error": f"expected {len(header)} fields, saw {len(values)}"},
                )
            records.append((reader.line_num, {h: v.strip() for h, v in zip(header, values)}))
    except csv.Error as exc:
        raise DDError(
            Err.PARSER_FAILURE,
            {"reason": "csv_parse_error", "path": str(path), "line": reader.line_num, "error": str(exc)},
        )
    return header, records


def _check_header(path: Path, header: list[str], required: Iterable[str]) -> None:
    if "active" in header:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "legacy_column_rejected", "path": str(path), "line": 1, "column": header.index("active") + 1,
             "field": "active", "fix": "remove the 'active' column; list what to run in the cohort spec instead"},
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "required_column_missing", "path": str(path), "line": 1, "missing": missing, "header": header},
        )


def read_csv_rows(path: Path, required: Iterable[str] = ()) -> list[dict[str, str]]:
    return [row for _, row in read_csv_records(path, required)[1]]


def validated(model: type[M], data: dict, *, path: Path, line: int, header: list[str]) -> M:
    """Validate one catalog row; a pydantic error becomes INVALID_CONFIG at file:line:column."""
    try:
        return validate_model(model, data, "invalid_catalog_row", path=str(path), line=line)
    except DDError as err:
        field = err.ctx["field"].split(".")[0]
        err.ctx["column"] = header.index(field) + 1 if field in header else None
        raise
