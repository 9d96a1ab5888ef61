"""The loopback server's Batch API through the real openai SDK: files, batches, their simulated
clock, expiry, cancellation and failing requests, and its log of every request of every batch."""

from __future__ import annotations

import json

import openai
import pytest

from daydreaming.offline.faults import Fault
from daydreaming.offline.server import serve


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider():
    with serve() as srv:
        clock = Clock()
        srv.batches.clock = clock
        sdk = openai.OpenAI(api_key="k", base_url=srv.base_url, max_retries=0)
        yield srv, sdk, clock
        sdk.close()


def _lines(n: int, model: str = "offline/demo", **extra) -> bytes:
    rows = [{"custom_id": f"g{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": model, "messages": [{"role": "user", "content": f"prompt {i} SCORE"}],
                      "max_tokens": 64}, **extra} for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _submit(sdk, data: bytes, name: str = "k.input.jsonl"):
    file = sdk.files.create(file=(name, data, "application/jsonl"), purpose="batch")
    return sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h",
                              metadata={"daydreaming_key": "k"})


def _results(sdk, file_id: str | None) -> dict[str, dict]:
    if file_id is None:
        return {}
    return {row["custom_id"]: row for row in map(json.loads, sdk.files.content(file_id).content.splitlines())}


def test_a_batch_answers_every_request_once_its_time_is_up(provider):
    srv, sdk, clock = provider
    srv.batches.latency_s = 10.0
    batch = _submit(sdk, _lines(4))
    assert batch.status == "validating" and batch.metadata == {"daydreaming_key": "k"}
    clock.now += 5.0
    running = sdk.batches.retrieve(batch.id)
    assert running.status == "in_progress" and running.request_counts.completed == 2
    clock.now += 5.0
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.completed == 4 and done.error_file_id is None
    out = _results(sdk, done.output_file_id)
    assert sorted(out) == ["g0", "g1", "g2", "g3"]
    body = out["g1"]["response"]["body"]
    assert out["g1"]["response"]["status_code"] == 200 and body["choices"][0]["message"]["content"].strip()
    assert [(line["custom_id"], line["outcome"], line["response_id"]) for line in srv.batches.lines] == [
        (f"g{i}", "answered", out[f"g{i}"]["response"]["body"]["id"]) for i in range(4)]


def test_files_and_batches_are_listed_newest_first_and_found_again(provider):
    srv, sdk, _ = provider
    first, second = _submit(sdk, _lines(1), "a.input.jsonl"), _submit(sdk, _lines(1), "b.input.jsonl")
    assert [b.id for b in sdk.batches.list()] == [second.id, first.id]
    assert [f.filename for f in sdk.files.list(purpose="batch")] == ["b.input.jsonl", "a.input.jsonl"]
    page = sdk.batches.list(limit=1)
    assert [b.id for b in page.data] == [second.id] and page.has_more
    assert [b.input_file_id for b in sdk.batches.list()] == [second.input_file_id, first.input_file_id]


@pytest.mark.parametrize("how", ["expired", "cancelled"])
def test_an_expired_or_cancelled_batch_answers_what_it_ran_and_lists_the_rest(provider, how):
    srv, sdk, clock = provider
    srv.batches.latency_s = 8.0
    if how == "expired":
        srv.batches.expire_after_s = 4.0
    batch = _submit(sdk, _lines(4))
    clock.now += 4.0
    if how == "cancelled":
        assert sdk.batches.cancel(batch.id).status == "cancelling"
    clock.now += 10.0
    ended = sdk.batches.retrieve(batch.id)
    assert ended.status == how
    assert sorted(_results(sdk, ended.output_file_id)) == ["g0", "g1"]
    errors = _results(sdk, ended.error_file_id)
    assert {k: v["error"]["code"] for k, v in errors.items()} == {"g2": f"batch_{how}", "g3": f"batch_{how}"}
    assert [line["outcome"] for line in srv.batches.lines] == ["answered", "answered", f"batch_{how}", f"batch_{how}"]


def test_requests_matching_a_fault_fail_inside_the_batch(provider):
    srv, sdk, clock = provider
    srv.batches.latency_s = 0.0
    srv.batches.faults.add(Fault(status=500, match="prompt 1 ", message="upstream down"))
    batch = _submit(sdk, _lines(3))
    ended = sdk.batches.retrieve(batch.id)
    assert ended.status == "completed" and ended.request_counts.failed == 1
    failed = _results(sdk, ended.error_file_id)["g1"]["response"]
    assert failed["status_code"] == 500 and failed["body"]["error"]["message"] == "upstream down"
    assert sorted(_results(sdk, ended.output_file_id)) == ["g0", "g2"]


def test_a_batch_of_two_models_or_bad_lines_fails_validation(provider):
    srv, sdk, _ = provider
    mixed = _lines(1) + _lines(1, model="offline/echo").replace(b'"g0"', b'"h0"')
    assert _submit(sdk, mixed).status == "failed"
    bad = _submit(sdk, b"not json\n")
    assert bad.status == "failed" and bad.errors.data[0].line == 1
    assert srv.batches.lines == []


def test_the_control_endpoint_sets_latency_expiry_and_faults(provider):
    import urllib.request

    srv, sdk, _ = provider
    body = json.dumps({"latency_s": 3, "expire_after_s": 1, "op_latency": {"upload": 0.5},
                       "faults": [{"status": 400, "match": "x"}]}).encode()
    root = srv.base_url.removesuffix("/v1")
    with urllib.request.urlopen(urllib.request.Request(f"{root}/_batches", data=body, method="POST")) as reply:
        assert json.loads(reply.read())["expire_after_s"] == 1.0
    assert (srv.batches.latency_s, srv.batches.op_latency, srv.batches.faults.pending()) == (3.0, {"upload": 0.5}, 1)
