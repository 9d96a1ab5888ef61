"""What a line of a batch's result files means (answer, coded failure, not run), and the batch
records' index of the generations in live batches."""

from __future__ import annotations

import json

import pytest

from daydreaming.batch import records
from daydreaming.batch.records import BatchEntry, BatchRecord
from daydreaming.batch.results import Answered, Failed, NotRun, outcome, read_results
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths

COMPLETION = {"id": "chatcmpl-1", "choices": [{"message": {"content": "an answer"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 2}}


def _line(custom_id: str, status: int | None, body=None, error=None) -> dict:
    response = None if status is None else {"status_code": status, "request_id": "req_1", "body": body}
    return {"id": "batch_req_1", "custom_id": custom_id, "response": response, "error": error}


def test_an_answer_a_failed_request_and_requests_never_run():
    got = outcome(_line("a", 200, COMPLETION))
    assert isinstance(got, Answered) and got.answer.text == "an answer" and got.request_id == "req_1"
    failed = outcome(_line("b", 500, {"error": {"type": "server_error", "message": "boom key sk-abcdefgh1234"}}))
    assert isinstance(failed, Failed) and failed.code is Err.IO_ERROR and not failed.billable
    assert failed.ctx == {"status": 500, "error": "server_error", "message": "boom key [redacted]"}
    refused = outcome(_line("c", 400, {"error": {"code": "context_length_exceeded", "message": "too long"}}))
    assert isinstance(refused, Failed) and refused.code is Err.INVALID_CONFIG and refused.ctx["status"] == 400
    for code in ("batch_expired", "batch_cancelled"):
        assert outcome(_line("d", None, error={"code": code, "message": "not run"})) == NotRun(code)
    assert outcome(None) == NotRun("absent")


def test_a_200_that_is_not_an_answer_is_a_failure_the_provider_may_have_billed():
    empty = dict(COMPLETION, choices=[])
    got = outcome(_line("a", 200, empty))
    assert isinstance(got, Failed) and got.billable and got.ctx["error"] == "empty_choices"
    assert got.usage == COMPLETION["usage"]


def test_results_are_read_from_both_files_skipping_garbled_lines():
    out = json.dumps(_line("a", 200, COMPLETION)) + "\n" + '{"custom_id": "b", "respo'
    err = json.dumps(_line("c", 500, {"error": {}})) + "\n"
    assert sorted(read_results(out, err)) == ["a", "c"]


def _record(key: str, gen_ids: list[str]) -> BatchRecord:
    return BatchRecord(key=key, provider="p", stage="draft", llm_model_id="m", model="m", created_at=0.0,
                       entries=[BatchEntry(custom_id=g, stage="draft", gen_id=g, llm_model_id="m",
                                           prompt_sha256="x", settings={}) for g in gen_ids])


def test_live_generations_follow_the_records_until_they_are_done(tmp_path):
    paths = Paths(tmp_path)
    assert records.live_generations(paths) == {}
    first = _record("k1", ["d_1", "d_2"])
    records.save(paths, first)
    records.save(paths, _record("k2", ["d_3"]))
    assert records.live_generations(paths) == {("draft", "d_1"): "k1", ("draft", "d_2"): "k1",
                                               ("draft", "d_3"): "k2"}
    records.finish(paths, first)
    assert records.live_generations(paths) == {("draft", "d_3"): "k2"}
    assert [r.key for r in records.done_records(paths)] == ["k1"]
    records.save(paths, first)  # a kill between the two writes of finish: the done copy wins
    assert [r.key for r in records.live_records(paths)] == ["k2"]
    assert not paths.batch_record("k1").exists()


def test_an_unreadable_record_is_a_coded_error_naming_it(tmp_path):
    paths = Paths(tmp_path)
    paths.batch_record("k1").parent.mkdir(parents=True)
    paths.batch_record("k1").write_text('{"key": "k1"}')
    with pytest.raises(DDError) as info:
        records.live_records(paths)
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["path"] == str(paths.batch_record("k1"))
