"""The spend ledger and the budget: restarts, reservations across threads and processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from daydreaming.budget import Ledger
from daydreaming.errors import DDError, Err

HOLDER = """
import sys, time
from daydreaming.budget import Ledger
ledger = Ledger(sys.argv[1], 1.0)
with ledger.reservation(float(sys.argv[2]), {"stage": "draft", "gen_id": "d_other"}):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def test_spend_survives_a_restart_and_a_cut_line(tmp_path):
    ledger = Ledger(tmp_path, None)
    ledger.record({"gen_id": "a", "cost_usd": 0.25})
    ledger.record({"gen_id": "b", "cost_usd": None})
    with open(ledger.spend_path, "a") as handle:
        handle.write('{"gen_id": "c", "cost_us')  # a crash mid-append
    assert Ledger(tmp_path).spent_usd() == pytest.approx(0.25)
    ledger.record({"gen_id": "d", "cost_usd": 0.5})
    lines = ledger.spend_path.read_text().splitlines()
    assert json.loads(lines[-1])["gen_id"] == "d"  # not glued onto the cut line
    assert ledger.spent_usd() == pytest.approx(0.75) == Ledger(tmp_path).spent_usd()


def test_without_a_budget_nothing_is_reserved(tmp_path):
    with Ledger(tmp_path, None).reservation(1e9, {}):
        pass
    assert not (tmp_path / "inflight.json").exists()


def test_refused_once_spent_leaves_no_room(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.record({"cost_usd": 0.8})
    with pytest.raises(DDError) as info:
        with ledger.reservation(0.3, {"stage": "essay", "gen_id": "e_1"}):
            pytest.fail("the call must not start")
    err = info.value
    assert err.code is Err.INVALID_CONFIG and err.ctx["reason"] == "budget_exhausted"
    assert err.ctx["gen_id"] == "e_1" and err.ctx["spent_usd"] == pytest.approx(0.8)
    assert err.ctx["max_cost_usd"] == 1.0 and err.ctx["ledger"] == str(ledger.spend_path)
    with ledger.reservation(0.2, {}):  # what does fit still starts
        pass
    ledger.record({"cost_usd": 0.2})
    with pytest.raises(DDError):  # spent == budget: nothing starts, not even an unpriced call
        with ledger.reservation(0.0, {}):
            pass


def test_threads_wait_for_calls_in_flight(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.poll_s = 0.02
    release = threading.Event()
    started = []

    def call(name: str) -> None:
        with ledger.reservation(0.3, {"gen_id": name}):
            started.append(name)
            release.wait(5)
        ledger.record({"cost_usd": 0.01})

    threads = [threading.Thread(target=call, args=(f"g{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    assert len(started) == 3  # 3 x 0.3 in flight; a 4th would pass 1.0
    release.set()
    for t in threads:
        t.join(5)
    assert len(started) == 5 and json.loads((tmp_path / "inflight.json").read_text()) == {}


def test_reservation_holds_across_processes_and_dies_with_its_process(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.poll_s = 0.02
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "0.7", "30"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        got = threading.Event()

        def call() -> None:
            with ledger.reservation(0.5, {}):
                got.set()

        thread = threading.Thread(target=call)
        thread.start()
        assert not got.wait(0.4)  # 0.7 held by the other process
        holder.send_signal(signal.SIGKILL)  # a killed run's reservation must not block forever
        holder.wait(5)
        assert got.wait(5)
        thread.join(5)
    finally:
        holder.kill()
