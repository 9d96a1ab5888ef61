"""Stale Snakemake locks left by a killed run.

Snakemake locks the files of a run under ``.snakemake/locks/`` and removes the locks when the
run ends; a run killed with SIGKILL leaves them, and the next run then stops with
LockException until someone runs ``snakemake --unlock``. Locks carry no owner, so each run
records its PID beside them; a later run removes locks whose recorded owner is no longer
alive on this host, and keeps them (Snakemake then refuses to run) when it is.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from .fsio import atomic_write_json
from .locking import pid_alive

OWNER = "daydreaming-owner.json"


def clear_stale_locks(workdir: Path, *, claim: bool) -> list[str]:
    """Remove locks of a dead owner; with ``claim``, record this process as the next owner."""
    lock_dir = Path(workdir) / ".snakemake" / "locks"
    owner_file = lock_dir / OWNER
    removed: list[str] = []
    locks = sorted(lock_dir.glob("*.lock")) if lock_dir.is_dir() else []
    if locks and owner_file.exists():
        try:
            owner = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            owner = {}
        same_host = owner.get("host") == socket.gethostname()
        if (
            same_host
            and isinstance(owner.get("pid"), int)
            and owner["pid"] != os.getpid()
            and not pid_alive(owner["pid"])
        ):
            for lock in locks:
                lock.unlink(missing_ok=True)
                removed.append(str(lock))
    live = lock_dir.is_dir() and any(lock_dir.glob("*.lock"))
    if claim and not live:  # a live run keeps its locks and its ownership
        atomic_write_json(owner_file, {"pid": os.getpid(), "host": socket.gethostname()})
    return removed
