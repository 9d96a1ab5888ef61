"""The spend ledger and the budget: restarts, reservations across threads and processes."""

from __future__ import annotations

import json
import os
import signal
import socket
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


def test_without_a_budget_calls_never_wait_and_their_reservations_are_released(tmp_path):
    ledger = Ledger(tmp_path, None)
    with ledger.reservation(1e9, {"gen_id": "a"}):
        with ledger.reservation(1e9, {"gen_id": "b"}):  # no budget: no limit
            held = Ledger(tmp_path).inflight.on_disk()  # another process's view: the files
            assert sorted(e["gen_id"] for e in held.values()) == ["a", "b"]  # on disk while in flight
    assert Ledger(tmp_path).inflight.on_disk() == {}


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
    assert len(started) == 5 and Ledger(tmp_path).inflight.on_disk() == {}


def test_reservation_holds_across_processes_and_dies_with_its_process(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.poll_s = 0.02
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "0.7", "30"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        got = threading.Event()
        refused = []

        def call() -> None:
            try:
                with ledger.reservation(0.5, {}):
                    got.set()
            except DDError as err:
                refused.append(err)

        thread = threading.Thread(target=call)
        thread.start()
        assert not got.wait(0.4)  # 0.7 held by the other process
        holder.send_signal(signal.SIGKILL)  # its call may have been billed: counted, at its worst case
        holder.wait(5)
        thread.join(5)
    finally:
        holder.kill()
    assert not got.is_set() and refused and refused[0].ctx["reason"] == "budget_exhausted"
    (lost,) = ledger.lines()
    assert (lost["kind"], lost["cost_usd"], lost["gen_id"]) == ("lost_in_flight", 0.7, "d_other")
    assert ledger.spent_usd() == pytest.approx(0.7)


def _dead_reservation(tmp_path, rid: str, usd: float) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (tmp_path / "inflight.json").write_text(json.dumps({rid: {
        "usd": usd, "pid": proc.pid, "host": socket.gethostname(), "at": time.time(),
        "stage": "draft", "gen_id": "d_1", "llm_model_id": "m"}}))


def test_a_dead_reservation_whose_answer_was_journaled_is_settled_at_its_real_cost(tmp_path):
    asked = []

    def received(stage, gen_id, rid):
        asked.append((stage, gen_id, rid))
        return {"cost_usd": 0.01, "request_id": "req-1"}

    _dead_reservation(tmp_path, "r1", 0.5)
    ledger = Ledger(tmp_path, 1.0, received=received)
    assert ledger.settle() == 0
    assert asked == [("draft", "d_1", "r1")]
    (line,) = ledger.lines()
    assert (line["kind"], line["cost_usd"], line["request_id"], line["reservation_id"]) == (
        "answer",
        0.01,
        "req-1",
        "r1",
    )
    assert ledger.settle() == 0 and len(ledger.lines()) == 1  # settled once


def test_a_dead_reservation_already_in_the_ledger_adds_nothing(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.record({"cost_usd": 0.02, "reservation_id": "r1"})
    _dead_reservation(tmp_path, "r1", 0.5)
    ledger.settle()
    assert [x["cost_usd"] for x in ledger.lines()] == [0.02]
    assert not ledger.record_once({"cost_usd": 0.02, "reservation_id": "r1"})
    assert ledger.record_once({"cost_usd": 0.03, "reservation_id": "r2"})
    assert ledger.spent_usd() == pytest.approx(0.05)


def test_a_retry_needs_room_again_after_a_billable_failed_attempt(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    with ledger.reservation(0.6, {"gen_id": "a"}) as held:
        held.before_attempt()  # the first attempt: admitted by the reservation itself
        held.record({"kind": "billable_failure", "cost_usd": 0.6})
        with pytest.raises(DDError) as info:
            held.before_attempt()  # 0.6 spent + 0.6 worst case > 1.0
    assert info.value.ctx["reason"] == "budget_exhausted" and info.value.ctx["spent_usd"] == pytest.approx(0.6)


# --- batches --------------------------------------------------------------------------------
def test_a_batch_holds_as_many_requests_as_fit_and_nothing_settles_it_but_its_release(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.record({"cost_usd": 0.1})
    with ledger.reservation(0.2, {"gen_id": "in_flight"}):
        assert ledger.hold_batch("b1", [0.3, 0.3, 0.3], {"stage": "draft"}) == 2  # 0.1 + 0.2 + 0.6 <= 1.0
    assert ledger.batch_holds() == {"b1": pytest.approx(0.6)}
    assert ledger.hold_batch("b2", [0.5], {}) == 0  # no room beside the live batch: wait for it
    (path,) = (tmp_path / "inflight").glob("batch.b1.json")
    held = json.loads(path.read_text())
    held["host"], held["at"] = "another-host", 0.0  # would be stale as a process's reservation
    path.write_text(json.dumps(held))
    assert Ledger(tmp_path, 1.0).settle() == 1  # a batch is never settled as lost in flight
    assert [line.get("kind") for line in ledger.lines()] == ["answer"]
    ledger.release("b1")
    assert ledger.batch_holds() == {} and ledger.hold_batch("b2", [0.5], {}) == 1


def test_a_batch_that_cannot_fit_beside_what_is_spent_is_refused(tmp_path):
    ledger = Ledger(tmp_path, 1.0)
    ledger.record({"cost_usd": 0.9})
    with pytest.raises(DDError) as info:
        ledger.hold_batch("b1", [0.2, 0.01], {"stage": "essay"})
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["reason"] == "budget_exhausted"
    assert info.value.ctx["stage"] == "essay" and ledger.batch_holds() == {}
    assert Ledger(tmp_path, None).hold_batch("b2", [5.0, 5.0], {}) == 2  # no budget: everything fits
