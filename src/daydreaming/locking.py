"""An exclusive lock on a file, shared by job threads and by separate processes.

The spend ledger and the requests-per-minute limiter must hold across every job of a run
(threads of one Snakemake process) *and* across runs started side by side (other processes,
SLURM jobs on a shared file system). ``flock`` gives both: the lock belongs to the open file
description, so each ``locked()`` opens its own descriptor and threads exclude each other as
processes do; the kernel drops the lock when a holder dies, so a killed run never wedges the
next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DDError, Err


def open_lock_file(path: Path) -> int:
    """A descriptor of ``path`` to ``flock`` (the file and its parents are created if missing)."""
    path = Path(path)
    try:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise DDError(Err.IO_ERROR, {"reason": "lock_failed", "path": str(path), "error": str(exc)}, exc) from None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created with its parents if missing)."""
    fd = open_lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still exists: how stale reservations and locks are told
    from live ones (a PID we may not signal belongs to a live process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_token(pid: int) -> str | None:
    """What tells a process from a later one that reuses its pid: its start time since boot
    (``/proc/<pid>/stat``, field 22); None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its end.
    return stat[stat.rfind(")") + 2:].split()[19]


def process_alive(pid: int, token: str | None = None) -> bool:
    """Whether the process that recorded ``(pid, token)`` still runs on this host."""
    if pid <= 0 or not pid_alive(pid):
        return False
    return token is None or process_token(pid) in (None, token)
