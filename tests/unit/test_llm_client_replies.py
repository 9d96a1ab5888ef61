"""Provider replies that are not answers, Retry-After bounds, failed-attempt reports and the
generation header: the real openai SDK against the real loopback server."""

from __future__ import annotations

import json
import socket

import pytest

from daydreaming.config import ProviderSettings
from daydreaming.errors import DDError, Err
from daydreaming.llm import GenerationSettings, LLMClient, ModelRoute, ProviderConfig
from daydreaming.offline.faults import BAD_BODIES

SETTINGS = GenerationSettings(max_tokens=1000)  # above the offline answer: finish_reason stop
PROMPT = "Write about loops.\nUse an <essay> block."

# fault body -> the error the client reports, and whether the reply carried its usage
EXPECTED = {
    "malformed_json": ("malformed_response", False),
    "not_json": ("malformed_response", False),
    "not_completion": ("malformed_response", False),
    "empty_choices": ("empty_choices", True),
    "null_content": ("empty_content", True),
    "blank_content": ("empty_content", True),
}


@pytest.fixture
def srv(llm_server):
    return llm_server


def make_client(base_url: str, *, sleeps: list[float] | None = None, **provider: object) -> LLMClient:
    """A client whose backoff sleeps are recorded in ``sleeps`` instead of waited."""
    cfg = ProviderConfig(base_url=base_url, **provider)
    route = ModelRoute(model_id="demo", model="offline/demo", provider="p")
    return LLMClient({"p": cfg}, {"demo": route}, sleep=(sleeps if sleeps is not None else []).append,
                     rng=lambda: 0.5)


def failure(client: LLMClient, **kwargs) -> DDError:
    with pytest.raises(DDError) as info:
        client.generate("demo", PROMPT, SETTINGS, **kwargs)
    return info.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_bad_body_fault_is_covered():
    assert set(EXPECTED) == set(BAD_BODIES)


@pytest.mark.parametrize("body", sorted(EXPECTED))
def test_a_reply_that_is_not_an_answer_is_retried_and_reported_billable(srv, body):
    srv.add_fault(body=body)
    reports = []
    result = make_client(srv.base_url).generate("demo", PROMPT, SETTINGS, on_failed_attempt=reports.append)
    assert result.attempts == 2 and srv.request_count == 2
    assert result.text.strip() and "<essay>" in result.text
    error, has_usage = EXPECTED[body]
    (report,) = reports
    assert (report["attempt"], report["error"], report["status"], report["billable"]) == (1, error, 200, True)
    if has_usage:
        assert report["usage"]["completion_tokens"] > 0 and report["request_id"].startswith("offline-")
    else:
        assert report["usage"] is None


@pytest.mark.parametrize("body", sorted(EXPECTED))
def test_exhausted_on_bad_replies_fails_coded_and_returns_nothing(srv, body):
    for _ in range(2):
        srv.add_fault(body=body)
    err = failure(make_client(srv.base_url, max_retries=1))
    assert srv.request_count == 2
    assert err.code is Err.IO_ERROR
    ctx = err.ctx
    assert (ctx["reason"], ctx["error"], ctx["attempts"], ctx["status"]) == (
        "provider_unavailable", EXPECTED[body][0], 2, 200)
    assert (ctx["provider"], ctx["base_url"], ctx["model_id"]) == ("p", srv.base_url, "demo")


def test_openrouter_style_error_body_keeps_its_message(srv):
    for _ in range(2):
        srv.add_fault(status=200, message="upstream provider error")
    err = failure(make_client(srv.base_url, max_retries=1))
    assert (err.ctx["error"], err.ctx["message"]) == ("empty_choices", "upstream provider error")


def test_retry_after_beyond_the_bound_fails_at_once(srv):
    srv.add_fault(status=429, retry_after=3600)
    sleeps: list[float] = []
    err = failure(make_client(srv.base_url, sleeps=sleeps))
    assert srv.request_count == 1 and sleeps == []
    assert err.code is Err.IO_ERROR
    ctx = err.ctx
    assert (ctx["reason"], ctx["status"], ctx["retry_after_s"], ctx["max_retry_wait_s"]) == (
        "retry_after_too_long", 429, 3600.0, 120.0)
    assert (ctx["provider"], ctx["base_url"], ctx["attempts"]) == ("p", srv.base_url, 1)
    assert "max_retry_wait_s" in ctx["fix"]


@pytest.mark.parametrize("retry_after, bound, waits", [(10, 10, True), (11, 10, False), (7, 120, True)])
def test_retry_after_up_to_the_bound_is_honoured(srv, retry_after, bound, waits):
    srv.add_fault(status=503, retry_after=retry_after)
    sleeps: list[float] = []
    client = make_client(srv.base_url, sleeps=sleeps, max_retry_wait_s=bound)
    if waits:
        assert client.generate("demo", PROMPT, SETTINGS).attempts == 2
        assert sleeps == [float(retry_after)]
    else:
        assert failure(client).ctx["reason"] == "retry_after_too_long"
        assert sleeps == []


def test_dead_provider_names_its_base_url_without_secrets():
    port = closed_port()
    reports = []
    client = make_client(f"http://user:hunter2@127.0.0.1:{port}/v1?api-key=sk-query-secret", max_retries=1)
    err = failure(client, on_failed_attempt=reports.append)
    assert err.code is Err.IO_ERROR
    assert (err.ctx["reason"], err.ctx["error"], err.ctx["base_url"]) == (
        "provider_unavailable", "connection_error", f"http://127.0.0.1:{port}/v1")
    assert "hunter2" not in str(err) and "sk-query-secret" not in str(err)
    assert [(r["error"], r["billable"]) for r in reports] == [("connection_error", False)] * 2


def test_error_statuses_are_not_billable_and_timeouts_are(srv):
    srv.add_fault(status=500)
    srv.add_fault(latency_s=2.0)
    reports = []
    result = make_client(srv.base_url, timeout_s=0.3).generate("demo", PROMPT, SETTINGS,
                                                               on_failed_attempt=reports.append)
    assert result.attempts == 3
    assert [(r["attempt"], r["error"], r["status"], r["billable"]) for r in reports] == [
        (1, "http_status", 500, False), (2, "timeout", None, True)]


def test_rejected_call_reports_its_one_attempt(srv):
    srv.add_fault(status=401, message="bad key")
    reports = []
    err = failure(make_client(srv.base_url), on_failed_attempt=reports.append)
    assert err.ctx["reason"] == "provider_rejected" and err.ctx["base_url"] == srv.base_url
    assert [(r["attempt"], r["status"], r["billable"]) for r in reports] == [(1, 401, False)]


def test_before_attempt_runs_before_every_attempt(srv):
    srv.add_fault(status=500)
    srv.add_fault(body="null_content")
    seen = []
    result = make_client(srv.base_url).generate("demo", PROMPT, SETTINGS,
                                                before_attempt=lambda: seen.append(srv.request_count))
    assert result.attempts == 3
    assert seen == [0, 1, 2]  # each time before the request it guards


class BudgetRefused(Exception):
    pass


def test_an_exception_from_before_attempt_aborts_unchanged(srv):
    srv.add_fault(status=503)
    refusal = BudgetRefused("spent")
    calls = []

    def before() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise refusal

    with pytest.raises(BudgetRefused) as info:
        make_client(srv.base_url).generate("demo", PROMPT, SETTINGS, before_attempt=before)
    assert info.value is refusal
    assert srv.request_count == 1  # the retry was never sent


def test_generation_header_is_sent_on_every_attempt(srv):
    srv.add_fault(status=502)
    srv.add_fault(body="malformed_json")
    client = make_client(srv.base_url)
    client.generate("demo", PROMPT, SETTINGS, generation="essay/e_abc")
    client.generate("demo", PROMPT, SETTINGS)
    assert [r["generation"] for r in srv.requests] == ["essay/e_abc"] * 3 + [None]


def test_generation_is_visible_in_the_http_request_log(srv):
    make_client(srv.base_url).generate("demo", PROMPT, SETTINGS, generation="draft/d_1")
    (entry,) = json.loads(json.dumps(srv.requests))
    assert entry["headers"]["x-daydreaming-generation"] == "draft/d_1"


@pytest.mark.parametrize("body", ["null_content", "blank_content"])
def test_blank_answer_cut_off_at_max_tokens_fails_at_once(srv, body):
    srv.add_fault(body=body, truncate=True)  # a reasoning model that spent max_tokens before answering
    reports = []
    err = failure(make_client(srv.base_url), on_failed_attempt=reports.append)
    assert srv.request_count == 1  # asking again would only pay again for the same cut-off
    assert err.code is Err.INVALID_CONFIG
    assert (err.ctx["reason"], err.ctx["error"], err.ctx["status"]) == ("empty_truncated_answer", "empty_content", 200)
    assert "max_tokens" in err.ctx["fix"] and err.ctx["base_url"] == srv.base_url
    assert [(r["billable"], r["usage"] is not None) for r in reports] == [(True, True)]


def test_max_retry_wait_s_from_the_pipeline_config_reaches_the_client(srv):
    settings = ProviderSettings(base_url=srv.base_url, max_retry_wait_s=5)
    route = ModelRoute(model_id="demo", model="offline/demo", provider="p")
    client = LLMClient({"p": ProviderConfig(**settings.client_settings())}, {"demo": route}, sleep=[].append)
    srv.add_fault(status=429, retry_after=6)
    err = failure(client)
    assert (err.ctx["reason"], err.ctx["max_retry_wait_s"]) == ("retry_after_too_long", 5.0)
    assert ProviderSettings(base_url="x").max_retry_wait_s == ProviderConfig(base_url="x").max_retry_wait_s == 120
