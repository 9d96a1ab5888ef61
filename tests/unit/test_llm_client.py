"""LLMClient through the real openai SDK against the real loopback server (and the offline provider)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.llm import GenerationSettings, LLMClient, ModelRoute, ProviderConfig
from daydreaming.llm.config import load_config
from daydreaming.offline.responder import respond
from daydreaming.offline.server import serve

KEY_ENV = "DD_TEST_LLM_KEY"
PROMPT = "Write about loops.\nUse an <essay> block."


@pytest.fixture
def srv():
    with serve() as server:
        yield server


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-key-1")
    return "sk-test-key-1"


def make_client(base_url: str, model: str = "offline/demo", **provider: object) -> LLMClient:
    route = ModelRoute(
        model_id="demo", model=model, provider="p",
        prompt_usd_per_mtok=provider.pop("prompt_price", None),
        completion_usd_per_mtok=provider.pop("completion_price", None),
    )
    return LLMClient({"p": ProviderConfig(base_url=base_url, **provider)}, {"demo": route})


def expected(prompt: str, model: str = "offline/demo", max_tokens: int = 4096) -> dict:
    return respond({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens})


def test_happy_path_fields(srv, key):
    client = make_client(srv.base_url, api_key_env=KEY_ENV, prompt_price=2.0, completion_price=10.0)
    result = client.generate("demo", PROMPT, GenerationSettings())
    want = expected(PROMPT)
    usage = want["usage"]
    assert result.text == want["choices"][0]["message"]["content"].strip()
    assert result.finish_reason == "stop" and result.truncated is False
    assert result.usage == {**usage, "max_tokens": 4096}
    assert result.request_id == f"{want['id']}-1"  # the server makes each answer's id unique
    assert result.cost_usd == pytest.approx((usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 10.0) / 1e6)
    assert (result.attempts, result.provider, result.model) == (1, "p", "offline/demo")
    assert result.duration_s > 0
    assert srv.request_count == 1


def test_request_is_one_user_message_with_only_the_set_settings(srv, key):
    client = make_client(srv.base_url, api_key_env=KEY_ENV, headers={"X-Title": "daydreaming"})
    client.generate("demo", PROMPT, GenerationSettings(max_tokens=77, temperature=0.3))
    (entry,) = srv.requests
    assert entry["model"] == "offline/demo" and entry["prompt"] == PROMPT and entry["max_tokens"] == 77
    assert entry["headers"]["x-title"] == "daydreaming"
    assert entry["authorization_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert "authorization" not in entry["headers"]


def test_provider_reported_cost_wins_over_price_columns(srv):
    srv.add_fault(usage_cost=0.0042, usage={"completion_tokens_details": {"reasoning_tokens": 7}})
    client = make_client(srv.base_url, prompt_price=2.0, completion_price=10.0)
    result = client.generate("demo", PROMPT, GenerationSettings())
    assert result.cost_usd == pytest.approx(0.0042)
    assert result.usage["reasoning_tokens"] == 7


def test_no_prices_and_no_reported_cost_gives_none(srv):
    result = make_client(srv.base_url).generate("demo", PROMPT, GenerationSettings())
    assert result.cost_usd is None
    assert "reasoning_tokens" not in result.usage


def test_truncation_by_max_tokens(srv):
    result = make_client(srv.base_url).generate("demo", PROMPT, GenerationSettings(max_tokens=6))
    assert result.finish_reason == "length" and result.truncated is True
    assert result.usage["completion_tokens"] == 6 and len(result.text.split()) == 6


def test_truncation_reported_by_finish_reason_only(srv):
    srv.add_fault(truncate=True)
    result = make_client(srv.base_url).generate("demo", PROMPT, GenerationSettings())
    assert result.finish_reason == "length" and result.truncated is True


def test_text_normalises_newlines_and_strips_only_the_outside(srv):
    client = make_client(srv.base_url, model="offline/echo")
    result = client.generate("demo", "  \r\nline one\r\n\r\n   indented  \r\n", GenerationSettings())
    assert result.text == "line one\n\n   indented"


def test_offline_provider_matches_loopback_server(srv, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = GenerationSettings(max_tokens=40)
    remote = make_client(srv.base_url).generate("demo", PROMPT, settings)
    local = make_client("offline:").generate("demo", PROMPT, settings)
    same = ("text", "finish_reason", "truncated", "usage", "model")
    assert {f: getattr(local, f) for f in same} == {f: getattr(remote, f) for f in same}
    assert remote.request_id == f"{local.request_id}-1"  # the server numbers the answers it sends
    assert srv.request_count == 1  # the offline provider never touched the server


def test_unknown_model_id():
    with pytest.raises(DDError) as info:
        make_client("offline:").generate("nope", PROMPT, GenerationSettings())
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "unknown_model" and info.value.ctx["model_id"] == "nope"
    assert info.value.ctx["known"] == ["demo"]


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_api_key(srv, monkeypatch, value):
    if value is None:
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, value)
    client = make_client(srv.base_url, api_key_env=KEY_ENV)
    for action in (
        lambda: client.require_credentials(["p"]),
        lambda: client.generate("demo", "x", GenerationSettings()),
    ):
        with pytest.raises(DDError) as info:
            action()
        assert info.value.code is Err.INVALID_CONFIG
        assert info.value.ctx == {"reason": "missing_api_key", "provider": "p", "base_url": srv.base_url,
                                  "env_var": KEY_ENV}
    assert srv.request_count == 0


def test_require_credentials_passes_with_key_and_for_keyless(key):
    make_client("http://127.0.0.1:9/v1", api_key_env=KEY_ENV).require_credentials(["p"])
    make_client("offline:").require_credentials(["p"])


def test_unknown_provider_is_refused():
    with pytest.raises(DDError) as info:
        make_client("offline:").require_credentials(["elsewhere"])
    assert (info.value.code, info.value.ctx["reason"], info.value.ctx["provider"]) == (
        Err.INVALID_CONFIG, "unknown_provider", "elsewhere")
    route = ModelRoute(model_id="m", model="x", provider="ghost")
    with pytest.raises(DDError) as info:
        LLMClient({}, {"m": route})
    assert info.value.ctx["reason"] == "unknown_provider" and info.value.ctx["model_id"] == "m"


def test_route_key_must_match_model_id():
    route = ModelRoute(model_id="a", model="x", provider="p")
    with pytest.raises(DDError) as info:
        LLMClient({"p": ProviderConfig(base_url="offline:")}, {"b": route})
    assert info.value.ctx == {"reason": "route_id_mismatch", "model_id": "b", "route_model_id": "a"}


def test_concurrent_jobs_share_one_sdk_client(srv):
    client = make_client(srv.base_url)
    prompts = [f"prompt number {i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda p: client.generate("demo", p, GenerationSettings()), prompts))
    assert sorted(r.request_id.rsplit("-", 1)[0] for r in results) == sorted(expected(p)["id"] for p in prompts)
    assert len({r.request_id for r in results}) == 12
    assert srv.request_count == 12
    assert len(client._sdk) == 1


@pytest.mark.parametrize(
    "cls, data, field",
    [
        (GenerationSettings, {"max_tokens": 0}, "max_tokens"),
        (ProviderConfig, {"base_url": "offline:", "headers": {"Authorization": "Bearer x"}}, "headers"),
        (ProviderConfig, {"base_url": "offline:", "max_retry": 3}, "max_retry"),
        (ModelRoute, {"model_id": "m", "model": "x"}, "provider"),
    ],
)
def test_invalid_config_becomes_dderror(cls, data, field):
    with pytest.raises(DDError) as info:
        load_config(cls, data, source="llm_models.csv:2")
    ctx = info.value.ctx
    assert info.value.code is Err.INVALID_CONFIG
    assert (ctx["reason"], ctx["config"], ctx["source"]) == ("invalid_llm_config", cls.__name__, "llm_models.csv:2")
    assert [e["field"] for e in ctx["errors"]] == [field]
    assert "Bearer x" not in str(info.value)
