"""A real single-node SLURM cluster on loopback, started and stopped from Python.

Follows the measured recipe in ``../shared/reference/slurm-on-loopback.md``: Debian's
``munge``, ``slurmctld``, ``slurmd`` and ``slurm-client`` packages, no systemd, no cgroups,
no accounting daemon. Every daemon keeps its state, logs and pid file under one directory
(``SlurmCluster.base``); the only write outside it is the symlink ``/etc/slurm/slurm.conf``,
because Snakemake's jobstep executor strips ``SLURM_CONF`` from job environments, so ``srun``
inside a job finds the configuration only at the compiled-in default path.

    with SlurmCluster() as cluster:      # ~1 s once the packages are installed
        cluster.run("sinfo")
    python -m tests.slurm.cluster up|down|status   # the same by hand

Used by the ``slurm`` test fixture and by ``bench/slurm.py``. Not thread-safe, one cluster per
machine: a lock file serialises concurrent users (two pytest sessions, a benchmark).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
INSTALL_HINT = "apt-get install -y --no-install-recommends " + " ".join(PACKAGES)
BINARIES = {
    "munged": "munge",
    "munge": "munge",
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "srun": "slurm-client",
    "squeue": "slurm-client",
    "scancel": "slurm-client",
    "scontrol": "slurm-client",
    "sinfo": "slurm-client",
}
# Daemon search path: Debian installs munged/slurmctld/slurmd in /usr/sbin, which a plain
# user's PATH may not contain.
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
DEFAULT_BASE = Path(os.environ.get("DAYDREAMING_SLURM_DIR", "/tmp/daydreaming-slurm"))
LOCK_FILE = Path("/tmp/daydreaming-slurm.lock")
CTLD_PORT, SLURMD_PORT = 6817, 6818
PARTITION = "debug"
# Stop order: reverse of start order.
DAEMONS = ("slurmd", "slurmctld", "munged")


class ClusterError(RuntimeError):
    """The cluster could not be started (missing packages, a port in use, a daemon that died)."""


def which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if which(name) is None]


class SlurmCluster:
    """munged + slurmctld + slurmd on 127.0.0.1, all state under ``base``."""

    def __init__(self, base: Path = DEFAULT_BASE, lock_timeout_s: float = 900.0) -> None:
        self.base = Path(base)
        self.lock_timeout_s = lock_timeout_s
        self._lock_fd: int | None = None
        self.started: dict[str, int] = {}  # daemon -> pid, only the ones this object started
        self.startup_s: float | None = None

    # -------------------------------------------------------------------------------- layout
    @property
    def conf(self) -> Path:
        return self.base / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.base / "munge" / "munge.socket"

    def pid_file(self, daemon: str) -> Path:
        return self.base / "run" / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.base / "log" / f"{daemon}.log"

    @property
    def env(self) -> dict[str, str]:
        """Environment for client commands (sbatch, squeue, ...) and for snakemake."""
        path = os.environ.get("PATH", "")
        extra = [d for d in SBIN if d not in path.split(os.pathsep)]
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": os.pathsep.join([path, *extra])}

    # ------------------------------------------------------------------------------ commands
    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller still knows (finished ones for MinJobAge, here an hour)."""
        fields = ("id", "name", "state", "cpus", "time_limit", "comment")
        out = self.run("squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%C|%l|%k", check=False)
        rows = []
        for line in out.splitlines():
            parts = line.strip().split("|", len(fields) - 1)
            if len(parts) == len(fields):
                rows.append(dict(zip(fields, parts)))
        return rows

    # ---------------------------------------------------------------------------- lifecycle
    def start(self, timeout_s: float = 60.0) -> SlurmCluster:
        started_at = time.monotonic()
        self._preflight()
        self._acquire_lock()
        try:
            self._stop_stale()
            self._check_ports_free()
            self._layout()
            self._start_munge()
            self._write_conf()
            self._spawn("slurmctld")
            self._wait(lambda: "UP" in self.run("scontrol", "ping", check=False), "slurmctld to answer ping",
                       timeout_s, "slurmctld")
            self._spawn("slurmd")
            self._wait(lambda: self.run("sinfo", "-h", "-o", "%t", check=False).strip() == "idle",
                       "the node to become idle", timeout_s, "slurmd")
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started_at
        return self

    def stop(self) -> None:
        """Cancel our jobs, stop the daemons we started (by pid), remove our /etc symlink."""
        try:
            if "slurmctld" in self.started and self._alive(self.started["slurmctld"]):
                self.run("scancel", "--full", "--user", str(os.getuid()), check=False)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and any(
                    j["state"] in ("RUNNING", "COMPLETING", "PENDING") for j in self.jobs()
                ):
                    time.sleep(0.5)
            for daemon in DAEMONS:
                pid = self.started.pop(daemon, None)
                if pid is not None:
                    self._terminate(pid)
                self.pid_file(daemon).unlink(missing_ok=True)
            if SYSTEM_CONF.is_symlink() and os.readlink(SYSTEM_CONF) == str(self.conf):
                SYSTEM_CONF.unlink()
        finally:
            self._release_lock()

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ helpers
    def _preflight(self) -> None:
        missing = missing_binaries()
        if missing:
            packages = sorted({BINARIES[m] for m in missing})
            raise ClusterError(
                f"SLURM is not installed: {', '.join(missing)} not found (packages {', '.join(packages)}). "
                f"Install with: {INSTALL_HINT}"
            )
        if os.geteuid() != 0:
            raise ClusterError("the single-node SLURM test cluster needs root (it links /etc/slurm/slurm.conf "
                               "and runs slurmd as root so jobs run as their submitter)")
        if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
            target = os.readlink(SYSTEM_CONF) if SYSTEM_CONF.is_symlink() else None
            if target != str(self.conf):
                raise ClusterError(f"{SYSTEM_CONF} already exists ({target or 'a real file'}): refusing to "
                                   "replace another cluster's configuration")

    def _acquire_lock(self) -> None:
        fd = os.open(LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise ClusterError(f"another test cluster holds {LOCK_FILE} for more than "
                                       f"{self.lock_timeout_s:.0f} s")
                time.sleep(1)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _stop_stale(self) -> None:
        """Daemons left by an earlier run of this module (a killed pytest), found by pid file."""
        for daemon in DAEMONS:
            pid = _read_pid(self.pid_file(daemon))
            if pid is not None and _comm(pid) == daemon[:15]:
                self._terminate(pid)
            self.pid_file(daemon).unlink(missing_ok=True)

    def _check_ports_free(self) -> None:
        for port in (CTLD_PORT, SLURMD_PORT):
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    raise ClusterError(f"port {port} is in use on 127.0.0.1: another SLURM is running "
                                       "(stop it, or run the slurm tests on a machine without one)")

    def _layout(self) -> None:
        for sub in ("state", "log", "run", "munge"):  # fresh state every start, the munge key too
            shutil.rmtree(self.base / sub, ignore_errors=True)
        for sub in ("etc", "munge", "state/ctld", "state/d", "log", "run"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        os.chmod(self.base / "munge", 0o755)  # munged: the socket directory must be o+x

    def _start_munge(self) -> None:
        key = self.base / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        self._spawn("munged", "--socket", str(self.munge_socket), "--key-file", str(key),
                    "--log-file", str(self.log_file("munged")), "--pid-file", str(self.pid_file("munged")),
                    "--seed-file", str(self.base / "munge" / "munged.seed"))
        self._wait(lambda: self._munge_roundtrip(), "munged to answer", 20, "munged")

    def _munge_roundtrip(self) -> bool:
        cred = subprocess.run([which("munge"), "-S", str(self.munge_socket), "-n"], capture_output=True)
        if cred.returncode != 0:
            return False
        back = subprocess.run([which("unmunge") or "unmunge", "-S", str(self.munge_socket)],
                              input=cred.stdout, capture_output=True)
        return back.returncode == 0

    def _write_conf(self) -> None:
        host = socket.gethostname().split(".")[0]
        mem_total = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                             if line.startswith("MemTotal")).split()[1]) // 1024
        mem = mem_total - 1024 if mem_total > 2048 else int(mem_total * 0.8)
        b = self.base
        self.conf.write_text(f"""\
# Written by tests/slurm/cluster.py: a single-node test cluster on loopback.
ClusterName=daydreaming
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={CTLD_PORT}
SlurmdPort={SLURMD_PORT}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={b}/state/ctld
SlurmdSpoolDir={b}/state/d
SlurmctldPidFile={self.pid_file("slurmctld")}
SlurmdPidFile={self.pid_file("slurmd")}
SlurmctldLogFile={self.log_file("slurmctld")}
SlurmdLogFile={self.log_file("slurmd")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
ReturnToService=2
# squeue (the status command without slurmdbd) sees finished jobs for MinJobAge seconds
# (default 300); an hour lets a test inspect every job of a slow run afterwards.
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
# scancel: SIGTERM, then SIGKILL after KillWait s (default 30). Snakemake inside a job lets a
# running job finish on SIGTERM; 2 s makes a cancel kill an LLM call mid-flight, as in a test.
KillWait=2
# an impossible request (more CPUs than the node has) fails at sbatch instead of pending forever
EnforcePartLimits=ALL
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        if SYSTEM_CONF.is_symlink():
            SYSTEM_CONF.unlink()
        SYSTEM_CONF.symlink_to(self.conf)

    def _spawn(self, daemon: str, *args: str) -> None:
        """Start a self-daemonising daemon and record the pid from its pid file."""
        self.pid_file(daemon).unlink(missing_ok=True)
        proc = subprocess.run([which(daemon), *args], capture_output=True, text=True, env=self.env, timeout=30)
        if proc.returncode != 0:
            raise ClusterError(f"{daemon} did not start ({proc.returncode}): {proc.stderr.strip()} "
                               f"{self._log_tail(daemon)}")
        deadline = time.monotonic() + 10
        while (pid := _read_pid(self.pid_file(daemon))) is None:
            if time.monotonic() > deadline:
                raise ClusterError(f"{daemon} wrote no pid file {self.pid_file(daemon)} {self._log_tail(daemon)}")
            time.sleep(0.05)
        self.started[daemon] = pid

    def _wait(self, ready, what: str, timeout_s: float, daemon: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            pid = self.started.get(daemon)
            if pid is not None and not self._alive(pid):
                raise ClusterError(f"{daemon} died while waiting for {what} {self._log_tail(daemon)}")
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout_s:.0f} s waiting for {what} {self._log_tail(daemon)}")
            time.sleep(0.1)

    def _log_tail(self, daemon: str, lines: int = 15) -> str:
        log = self.log_file(daemon)
        if not log.is_file():
            return ""
        return f"\n--- last lines of {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not _is_zombie(pid)

    def _terminate(self, pid: int, grace_s: float = 10.0) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive(pid):
            os.kill(pid, signal.SIGKILL)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def main(argv: list[str] | None = None) -> int:
    """``up`` starts a cluster and leaves it running (pids in ``base/run``); ``down`` stops it."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    args = parser.parse_args(argv)
    cluster = SlurmCluster(args.base)
    if args.action == "up":
        cluster.start()
        cluster._release_lock()  # a hand-started cluster is not locked; `down` stops it
        print(f"cluster up in {cluster.startup_s:.1f} s; SLURM_CONF={cluster.conf}")
        print(cluster.run("sinfo"))
    elif args.action == "down":
        cluster.started = {d: pid for d in DAEMONS if (pid := _read_pid(cluster.pid_file(d))) is not None
                           and _comm(pid) == d[:15]}
        cluster._acquire_lock()
        cluster.stop()
        print("cluster down")
    else:
        for daemon in DAEMONS:
            pid = _read_pid(cluster.pid_file(daemon))
            print(f"{daemon}: {pid if pid and cluster._alive(pid) else 'not running'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
