"""Bounded retries with exponential backoff and full jitter, and classification of SDK errors.

Why our own loop (the SDK's retries are disabled): the attempt count goes into metadata, the
policy is per provider, sleeps are injectable for tests, and every failure leaves as a
``DDError`` whose ctx carries the provider's message with anything key-like removed. Errors are
raised *outside* ``except`` blocks so no SDK exception (whose request holds the Authorization
header) is chained onto them, and tracebacks cannot print it.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, TypeVar

import openai

from ..errors import DDError, Err

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]

_RETRYABLE_STATUS = frozenset({408, 429})
_CONFIG_STATUS = frozenset({400, 401, 403, 404, 422})
_KEYLIKE = re.compile(r"(?i)\b(?:sk|pk|rk|key)-[A-Za-z0-9_\-]{4,}|\bBearer\s+\S+")


class TransientError(Exception):
    """Raised by a call to ask for a retry (e.g. HTTP 200 carrying no choices, as OpenRouter does)."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**(attempt-1))]."""
        return rng() * min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Failure:
    """One failed attempt, already stripped of anything secret."""

    retryable: bool
    code: Err
    status: int | None
    error: str
    message: str
    retry_after: float | None = None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secrets and key-shaped tokens from provider text before it goes anywhere."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or garbled."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _provider_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message") is not None:
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    return exc.message or ""


def classify(exc: Exception, secrets: Iterable[str]) -> Failure:
    """Map an exception from one attempt to a :class:`Failure` (retry or give up, and why)."""
    if isinstance(exc, TransientError):
        return Failure(True, Err.IO_ERROR, None, exc.error, redact(exc.message, secrets))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in _RETRYABLE_STATUS or status >= 500
        code = Err.INVALID_CONFIG if status in _CONFIG_STATUS else Err.IO_ERROR
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        return Failure(retryable, code, status, "http_status", redact(_provider_message(exc), secrets), retry_after)
    if isinstance(exc, openai.APITimeoutError):
        return Failure(True, Err.IO_ERROR, None, "timeout", "")
    if isinstance(exc, openai.APIConnectionError):
        return Failure(True, Err.IO_ERROR, None, "connection_error", "")
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure(True, Err.IO_ERROR, exc.status_code, "invalid_response", "")
    return Failure(False, Err.IO_ERROR, None, type(exc).__name__, redact(str(exc), secrets))


def _rejected(failure: Failure, ctx: dict[str, Any]) -> DDError:
    return DDError(
        failure.code,
        {**ctx, "reason": "provider_rejected", "status": failure.status, "error": failure.error, "message": failure.message},
    )


def _unavailable(failure: Failure, ctx: dict[str, Any], attempts: int) -> DDError:
    detail = {"status": failure.status} if failure.status is not None else {"error": failure.error}
    return DDError(
        Err.IO_ERROR,
        {**ctx, "reason": "provider_unavailable", **detail, "attempts": attempts, "message": failure.message},
    )


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    ctx: dict[str, Any],
    *,
    secrets: Iterable[str] = (),
    sleep: Sleep = time.sleep,
    rng: Callable[[], float] = random.random,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds or the policy gives up; returns (result, attempts).

    ``ctx`` (provider, model_id) is copied into every error. Non-retryable failures raise at
    once (``reason=provider_rejected``); exhausted retries raise ``reason=provider_unavailable``.
    """
    secrets = tuple(secrets)
    attempt = 0
    while True:
        attempt += 1
        try:
            return call(), attempt
        except (openai.OpenAIError, TransientError) as exc:
            failure = classify(exc, secrets)
        if not failure.retryable:
            raise _rejected(failure, ctx)
        if attempt > policy.max_retries:
            raise _unavailable(failure, ctx, attempt)
        delay = max(failure.retry_after or 0.0, policy.backoff(attempt, rng))
        log.warning(
            "LLM attempt %d/%d failed (provider=%s model_id=%s status=%s error=%s); retrying in %.2fs",
            attempt, policy.max_retries + 1, ctx.get("provider"), ctx.get("model_id"),
            failure.status, failure.error, delay,
        )
        sleep(delay)
