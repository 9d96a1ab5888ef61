"""Batch mode through the real workflow and the real Batch API of the loopback server: a cohort
end to end, kills at every step of a batch's life, expiry, cancellation, failing requests, the
budget at the batch price, and what the provider's own log says about each generation."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from daydreaming.batch import records
from daydreaming.budget import Ledger
from daydreaming.offline.faults import Fault

from .batch_helpers import (
    assert_bought_once_by_batch,
    batch_command,
    batch_mode,
    batch_run,
    chat_requests,
    kill_batch_run_when,
    lines_by_generation,
    op_requests,
)
from .llm_helpers import drafts_cohort, ledger_lines, prices
from .money import assert_nothing_left_behind
from .project import Project

pytestmark = pytest.mark.slow  # minutes of kills, interrupts and waits: python -m pytest -m slow


@pytest.fixture
def project(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    llm_server.batches.latency_s = 0.5
    batch_mode(project)
    return project


def _llm_gens(project: Project, cohort: str = "c1") -> list[tuple[str, str]]:
    from daydreaming.membership import read_membership

    return [(m.stage, m.gen_id) for m in read_membership(project.paths.membership_csv(cohort))
            if (m.row.get("mode") or "llm") == "llm"]


def test_a_cohort_goes_end_to_end_through_batches(project, llm_server):
    prices(project, 2.0, 8.0)
    result = batch_run(project)
    assert result.returncode == 0, result.output
    gens = _llm_gens(project)
    counts = assert_bought_once_by_batch(project, llm_server, gens)
    assert counts["batches"] == 4  # drafts; then essays and the copy essay's evaluation; then the last one
    for stage, gen_id in gens:
        raw = json.loads(project.paths.raw_metadata_path(stage, gen_id).read_text())
        usage = raw["usage"]
        sync = (usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 8.0) / 1e6
        assert raw["cost_usd"] == pytest.approx(sync * 0.5)  # the batch price (batch.discount 0.5)
        assert project.paths.parsed_path(stage, gen_id).exists()
    for text in ("submitted", "answered", "failed", "provider: completed", "age"):
        assert text in result.stderr
    assert project.snakemake("-n").jobs() == {}
    assert not records.live_records(project.paths) and len(records.done_records(project.paths)) == 4
    assert_nothing_left_behind(project)


def test_a_run_never_buys_a_generation_of_a_live_batch_one_request_at_a_time(project, llm_server):
    drafts_cohort(project, 3)
    llm_server.batches.latency_s = 30.0
    first = project.snakemake()  # renders the prompts, submits them, does not wait
    assert first.returncode == 0, first.output
    (live,) = records.live_records(project.paths)
    assert live.state == "submitted" and len(live.entries) == 3
    assert not chat_requests(llm_server)
    project.config["llm"]["providers"]["offline"]["batch"]["enabled"] = False  # batch mode off meanwhile
    project.save_config()
    again = project.snakemake()
    assert again.returncode == 0, again.output
    assert not chat_requests(llm_server) and len(records.live_records(project.paths)) == 1
    assert not any(project.paths.raw_path("draft", g).exists() for g in project.gen_ids("draft", "many"))


def _at(llm_server, op: str, delivered: bool) -> bool:
    return any(bool(r.get("delivered")) == delivered for r in op_requests(llm_server, op))


MOMENTS = {  # (operation, its extra latency at the provider, its reply delivered?, the record's state left)
    # killed while its upload waits for the reply: the provider has the file, the record no file id
    "during upload": ("upload", {"upload": 3.0}, False, "preparing"),
    # killed while the create waits for its reply: the provider has a batch the record never heard of
    "during create": ("create", {"create": 3.0}, False, "preparing"),
    # killed after the batch was submitted, while waiting for it
    "after submission": ("create", {}, True, "submitted"),
    # killed while downloading the results
    "during download": ("content", {"content": 3.0}, False, "submitted"),
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_kill_at_any_moment_resumes_with_the_same_command_and_buys_nothing_twice(project, llm_server, moment):
    ids = drafts_cohort(project, 4)
    op, latency, delivered, state = MOMENTS[moment]
    llm_server.batches.op_latency = latency
    llm_server.batches.latency_s = 2.0
    def ready() -> bool:
        if state == "submitted" and op == "create":  # the batch id is recorded: the run waits for the batch
            return any(r.state == "submitted" for r in records.live_records(project.paths))
        return _at(llm_server, op, delivered)

    assert kill_batch_run_when(project, ready) != 0
    llm_server.batches.op_latency = {}
    assert [r.state for r in records.live_records(project.paths)] == [state]
    resumed = batch_run(project)
    assert resumed.returncode == 0, resumed.output
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
    assert len(op_requests(llm_server, "create")) == 1  # one batch: a resumed create found the first
    assert_nothing_left_behind(project)
    assert Ledger(project.paths.ledger_dir).inflight.on_disk() == {}


class ProviderClock:
    """The loopback provider's clock, moved by the test: a batch's life at any moment, exactly."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_an_expired_batch_resubmits_only_what_it_did_not_answer(project, llm_server):
    ids = drafts_cohort(project, 4)
    llm_server.batches.clock = clock = ProviderClock()
    llm_server.batches.latency_s, llm_server.batches.expire_after_s = 4.0, 2.0  # half is done by expiry
    first = project.snakemake()
    assert first.returncode == 0, first.output
    clock.now += 3.0  # past the expiry (a laptop asleep through the batch's window)
    llm_server.batches.latency_s, llm_server.batches.expire_after_s = 0.0, None  # the next batch: at once
    result = batch_run(project)
    assert result.returncode == 0, result.output
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
    lines = llm_server.batches.lines
    batches = sorted({line["batch_id"] for line in lines})
    assert len(batches) == 2
    first_outcomes = sorted(line["outcome"] for line in lines if line["batch_id"] == batches[0])
    assert first_outcomes == ["answered", "answered", "batch_expired", "batch_expired"]
    expired = {line["custom_id"] for line in lines if line["outcome"] == "batch_expired"}
    assert {line["custom_id"] for line in lines if line["batch_id"] == batches[1]} == expired
    assert "expired" in result.stderr


def test_a_cancelled_batch_keeps_what_it_answered_and_the_rest_goes_into_the_next(project, llm_server):
    ids = drafts_cohort(project, 4)
    llm_server.batches.clock = clock = ProviderClock()
    llm_server.batches.latency_s = 8.0
    assert project.snakemake().returncode == 0
    clock.now += 4.0  # two of four done
    cancel = subprocess.run(batch_command(project, "cancel", "--all"), cwd=project.root, capture_output=True,
                            text=True, timeout=60)
    assert cancel.returncode == 0, cancel.stderr
    llm_server.batches.latency_s = 0.0
    assert batch_run(project).returncode == 0
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
    outcomes = sorted(line["outcome"] for line in llm_server.batches.lines)
    assert outcomes.count("batch_cancelled") == 2 and outcomes.count("answered") == 4


def test_failed_requests_are_coded_recorded_and_retried_in_a_later_batch(project, llm_server):
    ids = drafts_cohort(project, 3)
    llm_server.batches.faults.add(Fault(status=500, match="", times=1, message="upstream overloaded"))  # the first
    result = batch_run(project)
    assert result.returncode == 0, result.output
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
    by_gen = lines_by_generation(llm_server)
    failed = [g for g in ids if by_gen[g][0]["outcome"] == "failed"]
    assert len(failed) == 1 and [x["outcome"] for x in by_gen[failed[0]]] == ["failed", "answered"]
    assert by_gen[failed[0]][0]["batch_id"] != by_gen[failed[0]][1]["batch_id"]
    assert not (project.paths.failures_dir / "draft_raw").exists() or not any(
        (project.paths.failures_dir / "draft_raw").iterdir())  # cleared once answered


def test_a_request_that_keeps_failing_stops_after_max_attempts_with_its_record(project, llm_server):
    ids = drafts_cohort(project, 2)
    batch_mode(project, max_attempts=2)
    llm_server.batches.faults.add(Fault(status=400, match="", times=None, message="prompt refused"))
    result = batch_run(project)
    assert result.returncode == 1  # calls left unanswered
    by_gen = lines_by_generation(llm_server)
    assert {g: [x["outcome"] for x in by_gen[g]] for g in ids} == {g: ["failed", "failed"] for g in ids}
    for gen_id in ids:
        record = json.loads((project.paths.failures_dir / "draft_raw" / f"{gen_id}.json").read_text())
        ctx = record["ctx"]
        assert (record["code"], ctx["reason"], ctx["status"], ctx["attempts"], ctx["max_attempts"]) == (
            "INVALID_CONFIG", "batch_request_failed", 400, 2, 2)
        assert ctx["message"] == "prompt refused" and "fix" in ctx
    status = subprocess.run(["python", "-m", "daydreaming.cli", "status", "--json"], cwd=project.root,
                            capture_output=True, text=True, timeout=120)
    drafts = [s for c in json.loads(status.stdout)["cohorts"] for s in c["stages"] if s["stage"] == "draft"]
    assert drafts[0]["phases"]["raw"]["failed"] == 2
    assert not chat_requests(llm_server)


def test_an_answer_that_is_no_answer_is_counted_as_billed_and_retried(project, llm_server):
    ids = drafts_cohort(project, 1)
    prices(project, 1.0, 1.0)
    llm_server.batches.faults.add(Fault(body="empty_choices", match="", times=1))
    assert batch_run(project).returncode == 0
    kinds = [line["kind"] for line in ledger_lines(project)]
    assert kinds == ["billable_failure", "answer"]
    assert [x["outcome"] for x in lines_by_generation(llm_server)[ids[0]]] == ["answered", "answered"]
    raw = json.loads(project.paths.raw_metadata_path("draft", ids[0]).read_text())
    assert raw["attempts"] == 2


def test_the_budget_reserves_at_the_batch_price_and_submits_what_fits(project, llm_server):
    ids = drafts_cohort(project, 4)
    prices(project, 0.0, 0.8 / 2048 * 1e6)  # a draft's worst case: $0.80 alone, $0.40 in a batch
    project.config["llm"]["max_cost_usd"] = 1.0
    project.save_config()
    llm_server.batches.latency_s = 2.0
    first = project.snakemake()
    assert first.returncode == 0, first.output
    (live,) = records.live_records(project.paths)
    assert len(live.entries) == 2  # 2 x $0.40 fit in $1.00, a third would not
    inflight = Ledger(project.paths.ledger_dir).inflight.on_disk()
    assert inflight[live.key]["usd"] == pytest.approx(0.8) and inflight[live.key]["batch"] == live.key
    result = batch_run(project)
    assert result.returncode == 0, result.output
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
    assert [len(r.entries) for r in records.done_records(project.paths)] == [2, 2]
    assert Ledger(project.paths.ledger_dir).inflight.on_disk() == {}


def test_dry_run_and_estimate_show_sync_and_batch_cost(project, llm_server):
    prices(project, 1.0, 3.0)
    dry = project.snakemake("-n")
    assert dry.returncode == 0, dry.output
    assert "sync USD" in dry.stderr and "batch USD" in dry.stderr
    proc = subprocess.run(["python", "-m", "daydreaming.cli", "estimate", "--json"], cwd=project.root,
                          capture_output=True, text=True, timeout=120)
    data = json.loads(proc.stdout)
    for row in data["rows"]:
        assert row["via"] == "batch" and row["batch_usd"] == pytest.approx(row["usd"] * 0.5)
        assert row["run_usd"] == pytest.approx(row["batch_usd"])
    project.config["stages"]["essay"]["batch"] = False  # one stage stays synchronous
    project.save_config()
    data = json.loads(subprocess.run(["python", "-m", "daydreaming.cli", "estimate", "--json"], cwd=project.root,
                                     capture_output=True, text=True, timeout=120).stdout)
    via = {row["stage"]: row["via"] for row in data["rows"]}
    assert via == {"draft": "batch", "essay": "sync", "evaluation": "batch"}
    assert llm_server.request_count == 0


def test_forcing_a_stage_that_goes_through_batches_is_refused(project, llm_server):
    assert batch_run(project).returncode == 0
    before = len(llm_server.requests)
    forced = project.snakemake("--forcerun", "draft_raw")
    assert forced.returncode == 1
    code, ctx = forced.errors()[0]
    assert (code, ctx["reason"], ctx["stages"]) == ("INVALID_CONFIG", "forced_batch_stage", ["draft"])
    assert len(llm_server.requests) == before


def test_landing_again_after_a_kill_mid_landing_changes_nothing(project, llm_server):
    ids = drafts_cohort(project, 3)
    assert batch_run(project).returncode == 0
    (done,) = records.done_records(project.paths)
    # The state a SIGKILL leaves after the answers were written but before the record said so.
    for entry in done.entries[1:]:
        entry.outcome, entry.request_id = "live", None
    done.state = "ended"
    records.save(project.paths, done)
    project.paths.batch_record(done.key, done=True).unlink()
    ledger_before, store_before = ledger_lines(project), project.snapshot()
    again = project.snakemake()
    assert again.returncode == 0, again.output
    assert ledger_lines(project) == ledger_before and project.snapshot() == store_before
    assert not project.paths.archive_dir.exists()
    assert not records.live_records(project.paths) and len(records.done_records(project.paths)) == 1
    assert_bought_once_by_batch(project, llm_server, [("draft", g) for g in ids])
