"""Retries, rejections and secret hygiene, against real failures from the real loopback server."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.llm import GenerationSettings, LLMClient, ModelRoute, ProviderConfig
from daydreaming.llm.retry import RetryPolicy, parse_retry_after, redact
from daydreaming.offline.server import serve

SETTINGS = GenerationSettings(max_tokens=50)
SENTINEL = "sk-SENTINEL-123"


@pytest.fixture
def srv():
    with serve() as server:
        yield server


class Sleeps(list):
    """An injected sleep that records the requested delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(srv, *, sleep=None, rng=lambda: 0.5, **provider: object) -> LLMClient:
    provider.setdefault("backoff_base_s", 0.01)
    cfg = ProviderConfig(base_url=srv.base_url, **provider)
    route = ModelRoute(model_id="demo", model="offline/demo", provider="p")
    return LLMClient({"p": cfg}, {"demo": route}, sleep=sleep if sleep is not None else Sleeps(), rng=rng)


def failure(client: LLMClient) -> DDError:
    with pytest.raises(DDError) as info:
        client.generate("demo", "hello", SETTINGS)
    return info.value


def test_429_with_retry_after_is_honoured_then_succeeds(srv):
    srv.add_fault(status=429, retry_after=1)
    client = make_client(srv, sleep=time.sleep, rng=lambda: 0.0)
    started = time.monotonic()
    result = client.generate("demo", "hello", SETTINGS)
    assert time.monotonic() - started >= 0.95
    assert srv.request_count == 2 and result.attempts == 2


def test_retry_after_wins_over_shorter_backoff(srv):
    srv.add_fault(status=429, retry_after=7)
    sleeps = Sleeps()
    make_client(srv, sleep=sleeps).generate("demo", "hello", SETTINGS)
    assert sleeps == [7.0]


def test_5xx_burst_then_success_with_jittered_exponential_backoff(srv):
    for status in (500, 502, 503):
        srv.add_fault(status=status)
    sleeps = Sleeps()
    result = make_client(srv, sleep=sleeps, backoff_base_s=1.0, backoff_max_s=3.0).generate("demo", "hello", SETTINGS)
    assert result.attempts == 4 and srv.request_count == 4
    assert sleeps == [0.5, 1.0, 1.5]  # rng 0.5 * min(3, 1, 2, 4)


def test_exhausted_retries(srv):
    for _ in range(3):
        srv.add_fault(status=503, message="overloaded")
    err = failure(make_client(srv, max_retries=2))
    assert srv.request_count == 3
    assert err.code is Err.IO_ERROR
    fix = err.ctx.pop("fix")
    assert err.ctx == {
        "reason": "provider_unavailable", "status": 503, "error": "http_status", "attempts": 3,
        "message": "overloaded", "provider": "p", "base_url": srv.base_url, "model_id": "demo",
        "model": "offline/demo",
    }
    assert "base_url" in fix


@pytest.mark.parametrize("status, code", [(400, Err.INVALID_CONFIG), (401, Err.INVALID_CONFIG),
                                          (403, Err.INVALID_CONFIG), (404, Err.INVALID_CONFIG),
                                          (402, Err.IO_ERROR)])
def test_client_errors_fail_at_once(srv, status, code):
    srv.add_fault(status=status, message="no such model")
    sleeps = Sleeps()
    err = failure(make_client(srv, sleep=sleeps))
    assert srv.request_count == 1 and sleeps == []
    assert err.code is code
    assert (err.ctx["reason"], err.ctx["status"], err.ctx["message"]) == ("provider_rejected", status, "no such model")
    assert (err.ctx["provider"], err.ctx["model_id"]) == ("p", "demo")


def test_dropped_connection_is_retried(srv):
    srv.add_fault(drop=True)
    result = make_client(srv).generate("demo", "hello", SETTINGS)
    assert result.attempts == 2 and srv.request_count == 2


def test_dropped_connections_exhaust_to_connection_error(srv):
    for _ in range(2):
        srv.add_fault(drop=True)
    err = failure(make_client(srv, max_retries=1))
    assert (err.code, err.ctx["reason"], err.ctx["error"], err.ctx["attempts"]) == (
        Err.IO_ERROR, "provider_unavailable", "connection_error", 2)


def test_timeout_is_retried(srv):
    srv.add_fault(latency_s=2.0)
    result = make_client(srv, timeout_s=0.3).generate("demo", "hello", SETTINGS)
    assert result.attempts == 2 and srv.request_count == 2


def test_per_call_timeout_overrides_provider_and_exhausts(srv):
    srv.add_fault(latency_s=2.0)
    err = failure_with(make_client(srv, max_retries=0), GenerationSettings(max_tokens=5, timeout_s=0.2))
    assert (err.code, err.ctx["reason"], err.ctx["error"], err.ctx["attempts"]) == (
        Err.IO_ERROR, "provider_unavailable", "timeout", 1)


def failure_with(client: LLMClient, settings: GenerationSettings) -> DDError:
    with pytest.raises(DDError) as info:
        client.generate("demo", "hello", settings)
    return info.value


def test_200_without_choices_is_retried(srv):
    srv.add_fault(status=200, message="upstream provider error")  # OpenRouter-style error body
    result = make_client(srv).generate("demo", "hello", SETTINGS)
    assert result.attempts == 2


def test_prompt_rule_targets_one_prompt_only(srv):
    srv.add_fault(status=500, match="unlucky", times=1)
    client = make_client(srv)
    assert client.generate("demo", "hello", SETTINGS).attempts == 1
    assert client.generate("demo", "an unlucky prompt", SETTINGS).attempts == 2


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(max_retries=9, backoff_base_s=1.0, backoff_max_s=5.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 1e-6  # a past date: retry now


def test_redact_removes_known_and_key_shaped_secrets():
    text = redact("bad key sk-abc123XYZ, Bearer tok.en and my-own-secret", secrets=["my-own-secret"])
    assert "sk-abc123XYZ" not in text and "tok.en" not in text and "my-own-secret" not in text


def test_sentinel_key_never_leaks(srv, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "httpcore2", "daydreaming"):
        caplog.set_level(logging.DEBUG, logger=name)
    monkeypatch.setenv("DD_SENTINEL_KEY", SENTINEL)
    client = make_client(srv, api_key_env="DD_SENTINEL_KEY", max_retries=1)
    srv.add_fault(status=401, message=f"Incorrect API key provided: {SENTINEL}")
    srv.add_fault(status=500, message=f"upstream saw {SENTINEL}")
    srv.add_fault(status=500, message=f"upstream saw key {SENTINEL} again")
    srv.add_fault(drop=True)
    srv.add_fault(drop=True)
    errors = [failure(client) for _ in range(3)]
    assert [e.ctx["reason"] for e in errors] == ["provider_rejected", "provider_unavailable", "provider_unavailable"]
    assert errors[0].code is Err.INVALID_CONFIG and errors[1].ctx["status"] == 500
    surfaces = [repr(client), caplog.text, *(r.getMessage() for r in caplog.records)]
    for err in errors:
        surfaces += [str(err), repr(err), json.dumps(err.ctx), "".join(traceback.format_exception(err))]
    assert not [s for s in surfaces if SENTINEL in s]
    # the key really was sent, so the checks above are meaningful
    assert {r["authorization_sha256"] for r in srv.requests} == {hashlib.sha256(SENTINEL.encode()).hexdigest()}
    assert not [r for r in srv.requests if SENTINEL in json.dumps(r["headers"])]  # the server keeps no raw key
