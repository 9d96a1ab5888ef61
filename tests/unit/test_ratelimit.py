"""Requests per minute per provider, held in a file so it spans threads and processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from daydreaming.ratelimit import RateLimiter
from tests.unit.clock import FakeTime

WORKER = """
import sys, time
from daydreaming.ratelimit import RateLimiter
limiter = RateLimiter(sys.argv[1], float(sys.argv[2]))
for _ in range(int(sys.argv[3])):
    limiter.acquire()
    print(time.time(), flush=True)
"""


def test_starts_are_spaced_by_sixty_over_rpm(tmp_path):
    fake = FakeTime()
    limiter = RateLimiter(tmp_path / "p", 30, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(3)]
    assert waits == pytest.approx([0.0, 2.0, 4.0])
    fake.now += 60  # idle time is not banked into a burst
    assert limiter.acquire() == 0.0 and limiter.acquire() == pytest.approx(2.0)


def test_a_garbled_state_file_is_a_fresh_start(tmp_path):
    (tmp_path / "p").write_text("not a number")
    assert RateLimiter(tmp_path / "p", 60).acquire() == 0.0


def test_limit_holds_across_processes(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", WORKER, str(tmp_path / "p"), "600", "4"]  # one start per 0.1 s
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    starts = sorted(float(t) for p in procs for t in p.communicate(timeout=30)[0].split())
    assert len(starts) == 8
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.09, gaps
