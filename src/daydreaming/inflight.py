"""The budget's reservations on disk: one small file per call in flight, one per live batch.

Why a file each (``<data_root>/.ledger/inflight/<process>.<reservation>.json``) rather than one
shared map: every call writes its reservation before its request leaves and removes it when it
ends, and with 256 calls in flight rewriting one map of 256 entries twice per call, under the
ledger's lock, took most of a call's CPU and serialised every call in flight. A file each costs
one small write and one unlink, takes no lock, and the process that made it knows its own
reservations from memory: only other processes' files are ever read (to check a budget, or to
settle those of a process that died). A batch's reservation (``batch.<key>.json``) belongs to no
process (``daydreaming.budget``).

A map written by an earlier version (``inflight.json``) is split into files on first use, so a
crash from before the upgrade is still settled.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from .errors import DDError
from .fsio import TMP_PREFIX, atomic_write_text
from .locking import process_token

BATCH_TAG = "batch"
LEGACY_FILE = "inflight.json"


def process_tag(host: str | None, pid: Any, token: Any) -> str:
    """The file-name prefix of one process's reservations (a pid reused later gets another tag)."""
    return hashlib.sha1(f"{host}\0{pid}\0{token}".encode()).hexdigest()[:16]


class InFlight:
    """This process's reservations (in memory and on disk) and a view of everyone else's."""

    def __init__(self, directory: Path, legacy_file: Path | None = None) -> None:
        self.directory = Path(directory)
        self._legacy = legacy_file
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.token = process_token(self.pid)
        self.tag = process_tag(self.host, self.pid, self.token)
        self._own: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InFlight({str(self.directory)!r})"

    def _path(self, tag: str, rid: str) -> Path:
        return self.directory / f"{tag}.{rid}.json"

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        try:
            atomic_write_text(path, json.dumps(entry, separators=(",", ":")))
        except DDError:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(entry, separators=(",", ":")))

    # --- this process ----------------------------------------------------------------------
    def add(self, rid: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Record one of this process's reservations (on disk before its request leaves)."""
        entry = {**entry, "pid": self.pid, "token": self.token, "host": self.host, "at": time.time()}
        self._write(self._path(self.tag, rid), entry)
        with self._lock:
            self._own[rid] = entry
        return entry

    def remove(self, rid: str) -> None:
        with self._lock:
            self._own.pop(rid, None)
        self._path(self.tag, rid).unlink(missing_ok=True)

    def own(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._own)

    # --- batches ---------------------------------------------------------------------------
    def put_batch(self, key: str, entry: dict[str, Any]) -> None:
        self._write(self._path(BATCH_TAG, key), {**entry, "batch": key, "host": self.host, "at": time.time()})

    def remove_batch(self, key: str) -> bool:
        path = self._path(BATCH_TAG, key)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    # --- everyone else ---------------------------------------------------------------------
    def others(self) -> dict[str, tuple[dict[str, Any], Path]]:
        """Reservations on disk that are not this process's: rid -> (entry, file); batches too."""
        return self._read(skip=self.tag)

    def on_disk(self) -> dict[str, dict[str, Any]]:
        """Every reservation on disk, this process's included (read only: nothing is settled)."""
        return {rid: entry for rid, (entry, _) in self._read(skip=None).items()}

    def _read(self, skip: str | None) -> dict[str, tuple[dict[str, Any], Path]]:
        self._split_legacy()
        found: dict[str, tuple[dict[str, Any], Path]] = {}
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return found
        for name in names:
            if name.startswith(TMP_PREFIX) or not name.endswith(".json"):
                continue
            tag, _, rest = name.partition(".")
            if tag == skip:
                continue
            path = self.directory / name
            try:
                entry = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # removed meanwhile
            if isinstance(entry, dict):
                found[rest.removesuffix(".json")] = (entry, path)
        return found

    def _split_legacy(self) -> None:
        if self._legacy is None or not self._legacy.exists():
            return
        try:
            held = json.loads(self._legacy.read_text())
        except (OSError, ValueError):
            held = {}
        for rid, entry in (held.items() if isinstance(held, dict) else ()):
            if isinstance(entry, dict):
                tag = BATCH_TAG if entry.get("batch") else process_tag(entry.get("host"), entry.get("pid"),
                                                                      entry.get("token"))
                self._write(self._path(tag, rid), entry)
        self._legacy.unlink(missing_ok=True)
