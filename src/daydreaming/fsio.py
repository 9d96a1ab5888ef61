"""Atomic file writes: a reader (or a crash) never sees a half-written phase file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import DDError, Err

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _umask()


def _file_mode() -> int:
    """What open() would give (mkstemp's 0600 would hide files from co-workers).

    The umask is read from /proc: os.umask() changes it process-wide for a moment, and jobs
    run as threads of one process.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o666 & ~_IMPORT_UMASK


def atomic_write_text(path: Path, text: str, *, durable: bool = False) -> None:
    """Write to a temp file in the same directory, then rename over ``path``.

    ``durable`` adds an fsync for artifacts that cost money (raw answers): a rename survives
    SIGKILL without it, but not necessarily a power cut.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
        try:
            os.fchmod(fd, _file_mode())
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DDError(Err.IO_ERROR, {"reason": "write_failed", "path": str(path), "error": str(exc)}, exc)


def json_text(data: Any) -> str:
    """The seed's JSON style: indent=2, UTF-8 kept as is."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json_text(data))


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing file is DATA_MISSING, bad JSON is PARSER_FAILURE."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DDError(Err.DATA_MISSING, {"reason": "file_missing", "path": str(path)}, exc)
    except OSError as exc:
        raise DDError(Err.IO_ERROR, {"reason": "read_failed", "path": str(path), "error": str(exc)}, exc)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DDError(
            Err.PARSER_FAILURE,
            {"reason": "invalid_json", "path": str(path), "line": exc.lineno, "column": exc.colno, "error": exc.msg},
            exc,
        )
