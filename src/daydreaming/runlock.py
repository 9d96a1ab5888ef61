"""One writer per data root: the lock a run holds from before the cohort compile to its end.

Two runs writing one data root buy the same answers twice and together exceed the providers'
concurrency caps, whatever their checkouts or working directories (Snakemake's own lock lives
in the working directory's ``.snakemake/`` and only covers the files of one DAG). So a run that
may write takes an exclusive ``flock`` on ``<data_root>/.lock/run.lock`` and keeps the
descriptor open until it ends: the kernel drops the lock when the holder dies, however it dies,
so a killed run's lock is taken over by the next run without anyone running an unlock command.
Beside it, ``holder.json`` says who holds it (pid, host, start time, command line, working
directory), which is what a refused run prints.

Read-only commands (``snakemake -n``, ``daydreaming estimate``, ``status``, ``check``) never take
it; SLURM jobs of a run do not either (their head process holds it).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .errors import DDError, Err
from .fsio import atomic_write_json
from .paths import Paths

LOCK_FILE = "run.lock"
HOLDER_FILE = "holder.json"

_HELD: dict[Path, int] = {}  # data root -> open descriptor holding the lock (this process)
_GUARD = threading.Lock()


def holder(paths: Paths) -> dict[str, Any]:
    """What ``holder.json`` says about the current (or last) holder; {} when unreadable."""
    try:
        data = json.loads((paths.run_lock_dir / HOLDER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def acquire(paths: Paths, command: list[str] | None = None) -> None:
    """Take the data root's writer lock for the rest of this process, or refuse.

    Idempotent within a process (the workflow's input functions and the CLI may both ask).
    Raises ``DDError(BUSY, reason=data_root_locked)`` naming the holder when another live
    process holds it.
    """
    root = paths.data_root.resolve()
    with _GUARD:
        if root in _HELD:
            return
        lock_dir = paths.run_lock_dir
        try:
            lock_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DDError(Err.IO_ERROR, {"reason": "lock_failed", "path": str(lock_dir / LOCK_FILE),
                                         "error": str(exc)}, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DDError(Err.BUSY, {
                "reason": "data_root_locked", "data_root": str(root), "lock": str(lock_dir / LOCK_FILE),
                "holder": holder(paths),
                "fix": "wait for that run to end (or stop it: Ctrl-C); one run writes a data root at a time",
            }) from None
        _HELD[root] = fd
        atomic_write_json(lock_dir / HOLDER_FILE, {
            "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": list(command if command is not None else sys.argv), "cwd": os.getcwd(),
        })


def release(paths: Paths) -> None:
    """Give the lock up before the process ends (the end-of-run handler); harmless if not held."""
    root = paths.data_root.resolve()
    with _GUARD:
        fd = _HELD.pop(root, None)
    if fd is not None:
        os.close(fd)


def held(paths: Paths) -> bool:
    """Whether this process holds the data root's lock."""
    return paths.data_root.resolve() in _HELD
