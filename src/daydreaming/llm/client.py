"""The one LLM client every stage uses, for every provider, through the official ``openai`` SDK.

A single code path (``chat.completions.create`` with one user message, no system prompt) serves
OpenRouter, OpenAI, vLLM, Ollama and the built-in offline provider. The offline provider
(``base_url: offline:``) runs in process: the SDK gets an ``httpx2.Client`` whose
``MockTransport`` calls the same :func:`~daydreaming.offline.responder.dispatch` the loopback
server uses, so the demo needs neither a server nor a key and still exercises this exact code.

(The installed ``openai`` is built on ``httpx2``, the successor of ``httpx``; its ``Client`` and
``MockTransport`` are what the SDK accepts as ``http_client``.)
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpx2
import openai
from pydantic import BaseModel, ConfigDict

from ..errors import DDError, Err
from ..offline.responder import GENERATION_HEADER, dispatch
from .config import GenerationSettings, ModelRoute, ProviderConfig
from .reply import Answer, read_answer
from .retry import RetryPolicy, Sleep, call_with_retries, parse_retry_after, redact_url

T = TypeVar("T")
_OFFLINE_URL = "http://offline.invalid/v1"
_NO_KEY = "no-key"  # keyless providers (vLLM, Ollama, offline): the SDK insists on *some* key


class LLMResult(BaseModel):
    """What one successful generation produced, ready to go into raw metadata (no secrets)."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: str | None
    truncated: bool
    usage: dict[str, int | None]
    request_id: str | None
    cost_usd: float | None
    duration_s: float
    attempts: int
    provider: str
    model: str


def _offline_http_client() -> httpx2.Client:
    """An HTTP client whose 'network' is the offline responder, called in process."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        generation = request.headers.get(GENERATION_HEADER)
        status, payload = dispatch(request.method, request.url.path, request.read(), generation=generation)
        headers = {"x-request-id": payload["id"]} if isinstance(payload.get("id"), str) else {}
        return httpx2.Response(status, json=payload, headers=headers)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def _lookup(table: dict[str, T], key: str, reason: str, field: str) -> T:
    """``table[key]``, or ``DDError(INVALID_CONFIG)`` listing the known keys so a typo is easy to fix."""
    if key not in table:
        raise DDError(Err.INVALID_CONFIG, {"reason": reason, field: key, "known": sorted(table)})
    return table[key]


def _read_key(provider: str, cfg: ProviderConfig) -> str | None:
    """The provider's key from its env var; None for keyless providers. Raises when it is unset."""
    if cfg.api_key_env is None:
        return None
    key = os.environ.get(cfg.api_key_env, "").strip()
    if not key:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "missing_api_key", "provider": provider, "base_url": redact_url(cfg.base_url),
             "env_var": cfg.api_key_env},
        )
    return key


FailedAttempt = Callable[[dict[str, Any]], object]


class LLMClient:
    """Generate text for catalog model ids; thread-safe (one cached SDK client per provider).

    ``sleep`` and ``rng`` are injectable so retry tests do not wait for real backoff.
    ``limits`` maps a provider to its gate (``daydreaming.provider_limits.ProviderLimits``):
    every attempt (retries included) waits in ``limits.attempt(tokens)`` until it may start,
    runs inside it, and reports the reply's status and headers to it (429s, x-ratelimit-*).
    """

    def __init__(
        self,
        providers: dict[str, ProviderConfig],
        routes: dict[str, ModelRoute],
        *,
        sleep: Sleep = time.sleep,
        rng: Callable[[], float] = random.random,
        limits: dict[str, Any] | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._routes = dict(routes)
        self._limits = dict(limits or {})
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._sdk: dict[str, tuple[openai.OpenAI, tuple[str, ...]]] = {}
        self._check_routes()

    def __repr__(self) -> str:
        return f"LLMClient(providers={sorted(self._providers)}, routes={len(self._routes)})"

    def _check_routes(self) -> None:
        """Fail at construction, not mid-run, when a route is inconsistent."""
        for model_id, route in self._routes.items():
            if route.model_id != model_id:
                raise DDError(
                    Err.INVALID_CONFIG,
                    {"reason": "route_id_mismatch", "model_id": model_id, "route_model_id": route.model_id},
                )
            if route.provider not in self._providers:
                raise DDError(
                    Err.INVALID_CONFIG,
                    {"reason": "unknown_provider", "provider": route.provider, "model_id": model_id,
                     "known": sorted(self._providers)},
                )

    def require_credentials(self, provider_names: Iterable[str]) -> None:
        """Check up front (before any job runs) that every named provider has its key."""
        for name in provider_names:
            _read_key(name, self._provider(name))

    def _provider(self, name: str) -> ProviderConfig:
        return _lookup(self._providers, name, "unknown_provider", "provider")

    def route(self, model_id: str) -> ModelRoute:
        """The provider, provider model string and prices of a catalog model id."""
        return _lookup(self._routes, model_id, "unknown_model", "model_id")

    def _sdk_for(self, name: str) -> tuple[openai.OpenAI, tuple[str, ...]]:
        """The cached SDK client for a provider and the secrets to scrub from its errors."""
        with self._lock:
            if name not in self._sdk:
                self._sdk[name] = self._build_sdk(name, self._provider(name))
            return self._sdk[name]

    @staticmethod
    def _build_sdk(name: str, cfg: ProviderConfig) -> tuple[openai.OpenAI, tuple[str, ...]]:
        key = _read_key(name, cfg)
        sdk = openai.OpenAI(
            api_key=key or _NO_KEY,
            base_url=_OFFLINE_URL if cfg.is_offline else cfg.base_url,
            timeout=cfg.timeout_s,
            max_retries=0,  # retries are ours (retry.py), so attempts are counted and bounded once
            default_headers=cfg.headers or None,
            http_client=_offline_http_client() if cfg.is_offline else None,
        )
        return sdk, ((key,) if key else ())

    def generate(
        self,
        model_id: str,
        prompt: str,
        settings: GenerationSettings,
        *,
        on_failed_attempt: FailedAttempt | None = None,
        before_attempt: Callable[[], object] | None = None,
        generation: str | None = None,
    ) -> LLMResult:
        """One chat completion for ``prompt`` with retries; raises ``DDError`` on failure.

        ``before_attempt`` runs before every attempt (the budget re-checks there; what it raises
        aborts the call unchanged). ``on_failed_attempt`` hears of every failed attempt, with
        ``billable`` when the provider may have charged for it. ``generation``
        (``"<stage>/<gen_id>"``) is sent as a header so provider logs (and the offline
        provider's answer) can tell replicates of one prompt apart.
        """
        route = self.route(model_id)
        cfg = self._provider(route.provider)
        ctx = {"provider": route.provider, "base_url": redact_url(cfg.base_url), "model_id": model_id,
               "model": route.model}
        sdk, secrets = self._sdk_for(route.provider)
        request = _request_kwargs(route, prompt, settings, generation)
        policy = RetryPolicy(cfg.max_retries, cfg.backoff_base_s, cfg.backoff_max_s, cfg.max_retry_wait_s)
        limits = self._limits.get(route.provider)
        tokens = math.ceil(len(prompt) / 4) + settings.max_tokens  # as providers count a request for TPM

        def send(reply: Any) -> tuple[Answer, str | None]:
            """One request; ``reply`` (the limits' record of it, if any) hears its status and headers."""
            try:
                raw = sdk.chat.completions.with_raw_response.create(**request)
            except openai.APIStatusError as exc:
                if reply is not None:
                    reply.status, reply.headers = exc.status_code, exc.response.headers
                    reply.retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
                raise
            if reply is not None:
                reply.status, reply.headers = raw.status_code, raw.headers
            return read_answer(raw.content), raw.headers.get("x-request-id")

        def attempt() -> tuple[Answer, str | None]:
            if limits is None:
                return send(None)
            with limits.attempt(tokens) as reply:
                return send(reply)

        started = time.monotonic()
        (answer, header_id), attempts = call_with_retries(
            attempt, policy, ctx, secrets=secrets, sleep=self._sleep, rng=self._rng,
            before_attempt=before_attempt, on_failed_attempt=on_failed_attempt,
        )
        return answer_result(answer, header_id, route, settings, attempts, time.monotonic() - started)

    def provider_call(self, provider: str, call: Callable[[openai.OpenAI], T], operation: str) -> T:
        """One Batch API operation (``call(sdk)``, e.g. an upload or a batch's status) with the
        provider's retries; its errors are coded and scrubbed as a chat call's are."""
        cfg = self._provider(provider)
        sdk, secrets = self._sdk_for(provider)
        policy = RetryPolicy(cfg.max_retries, cfg.backoff_base_s, cfg.backoff_max_s, cfg.max_retry_wait_s)
        ctx = {"provider": provider, "base_url": redact_url(cfg.base_url), "operation": operation}
        result, _ = call_with_retries(lambda: call(sdk), policy, ctx, secrets=secrets, sleep=self._sleep,
                                      rng=self._rng)
        return result

    def batch_body(self, model_id: str, prompt: str, settings: GenerationSettings) -> dict[str, Any]:
        """The request body of one call inside a batch: what ``generate`` would send."""
        body = _request_kwargs(self.route(model_id), prompt, settings, None)
        body.pop("timeout", None)
        return body

    def close(self) -> None:
        """Close the cached SDK clients (their connection pools)."""
        with self._lock:
            for sdk, _ in self._sdk.values():
                sdk.close()
            self._sdk.clear()


def _request_kwargs(route: ModelRoute, prompt: str, settings: GenerationSettings,
                    generation: str | None) -> dict[str, Any]:
    """SDK arguments: one user message, and only the sampling settings that were set."""
    kwargs: dict[str, Any] = {
        "model": route.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": settings.max_tokens,
    }
    for name in ("temperature", "top_p", "seed"):
        value = getattr(settings, name)
        if value is not None:
            kwargs[name] = value
    if settings.timeout_s is not None:
        kwargs["timeout"] = settings.timeout_s
    if generation is not None:
        kwargs["extra_headers"] = {GENERATION_HEADER: generation}
    return kwargs


def _count(value: Any) -> int | None:
    """A token count as an int; anything else (absent, a string, a bool) is unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _usage(raw: dict[str, Any], max_tokens: int) -> dict[str, int | None]:
    out: dict[str, int | None] = {name: _count(raw.get(name))
                                  for name in ("prompt_tokens", "completion_tokens", "total_tokens")}
    details = raw.get("completion_tokens_details")
    reasoning = _count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    if reasoning is not None:
        out["reasoning_tokens"] = reasoning
    out["max_tokens"] = max_tokens
    return out


def _reported_cost(raw: dict[str, Any]) -> float | None:
    """OpenRouter's ``usage.cost`` (USD), when the provider reports one."""
    cost = raw.get("cost")
    return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None


def answer_result(answer: Answer, header_id: str | None, route: ModelRoute, settings: GenerationSettings,
                  attempts: int, duration_s: float, *, batch: bool = False) -> LLMResult:
    """The result of an answer; its cost is the one the provider reports, else the price columns'
    (the batch price for an answer from a batch)."""
    usage = _usage(answer.usage, settings.max_tokens)
    completion_tokens = usage["completion_tokens"]
    cost = _reported_cost(answer.usage)
    return LLMResult(
        text=answer.text.replace("\r\n", "\n").strip(),
        finish_reason=answer.finish_reason,
        truncated=answer.finish_reason == "length"
        or (completion_tokens is not None and completion_tokens >= settings.max_tokens),
        usage=usage,
        request_id=answer.request_id or header_id,
        cost_usd=cost if cost is not None else route.cost_usd(usage["prompt_tokens"], completion_tokens, batch=batch),
        duration_s=duration_s,
        attempts=attempts,
        provider=route.provider,
        model=route.model,
    )
