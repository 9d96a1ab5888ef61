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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai

from ..errors import DDError, Err

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]

_RETRYABLE_STATUS = frozenset({408, 429})
_CONFIG_STATUS = frozenset({400, 401, 403, 404, 422})
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout)
_KEYLIKE = re.compile(r"(?i)\b(?:sk|pk|rk|key)-[A-Za-z0-9_\-]{4,}|\bBearer\s+\S+")


class AttemptFailed(Exception):
    """Raised by a call whose attempt failed without an SDK error (e.g. a 200 carrying no choices,
    as OpenRouter reports upstream failures); retried unless ``retryable`` is False.

    ``billable``: the provider may have charged for the attempt (it answered, just not usably),
    so the budget must count it; ``usage`` is what the reply said it consumed, when it said.
    A failure that is not retried may name its own ``reason`` and ``fix``.
    """

    def __init__(self, error: str, message: str = "", *, status: int | None = None, billable: bool = False,
                 usage: dict[str, Any] | None = None, request_id: str | None = None, retryable: bool = True,
                 reason: str | None = None, fix: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.message = message
        self.status = status
        self.billable = billable
        self.usage = usage
        self.request_id = request_id
        self.retryable = retryable
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retry_wait_s`` bounds a provider's ``Retry-After``: asked to wait longer, the call
    fails at once instead of holding a job (and its concurrency slot) for an hour."""

    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_wait_s: float = 120.0

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
    billable: bool = False
    usage: dict[str, Any] | None = None
    request_id: str | None = None
    reason: str | None = None  # of a failure that is not retried, when more precise than provider_rejected
    fix: str | None = None

    def report(self, attempt: int) -> dict[str, Any]:
        """What ``on_failed_attempt`` receives: enough for the budget to count a billed attempt."""
        return {"attempt": attempt, "error": self.error, "status": self.status, "billable": self.billable,
                "usage": self.usage, "request_id": self.request_id, "message": self.message,
                "retry_after": self.retry_after}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secrets and key-shaped tokens from provider text before it goes anywhere."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


def redact_url(url: str) -> str:
    """A base_url fit for errors and logs: scheme, host, port and path only (no user:password@,
    no query string, where some gateways carry a key)."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url.split("?", 1)[0].split("#", 1)[0]
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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


def _never_reached(exc: openai.APIError) -> bool:
    """True when the request cannot have reached the provider (the connection was never made)."""
    return isinstance(exc.__cause__, _NOT_SENT)


def classify(exc: Exception, secrets: Iterable[str]) -> Failure:
    """Map an exception from one attempt to a :class:`Failure` (retry or give up, and why).

    Billable: the provider may have charged: a usable-looking 200 that was not an answer, a
    client-side timeout (it may still be generating), a connection lost after the request was
    sent. Error statuses and connections never made are not. When unsure, billable: the budget
    over-counts rather than lets spend pass its cap.
    """
    if isinstance(exc, AttemptFailed):
        code = Err.IO_ERROR if exc.retryable else Err.INVALID_CONFIG
        return Failure(exc.retryable, code, exc.status, exc.error, redact(exc.message, secrets),
                       billable=exc.billable, usage=exc.usage, request_id=exc.request_id, reason=exc.reason,
                       fix=exc.fix)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in _RETRYABLE_STATUS or status >= 500
        code = Err.INVALID_CONFIG if status in _CONFIG_STATUS else Err.IO_ERROR
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        return Failure(retryable, code, status, "http_status", redact(_provider_message(exc), secrets), retry_after)
    if isinstance(exc, openai.APITimeoutError):
        return Failure(True, Err.IO_ERROR, None, "timeout", "", billable=not _never_reached(exc))
    if isinstance(exc, openai.APIConnectionError):
        return Failure(True, Err.IO_ERROR, None, "connection_error", "", billable=not _never_reached(exc))
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure(True, Err.IO_ERROR, exc.status_code, "invalid_response", "")
    return Failure(False, Err.IO_ERROR, None, type(exc).__name__, redact(str(exc), secrets))


def _rejected(failure: Failure, ctx: dict[str, Any]) -> DDError:
    fix = {"fix": failure.fix} if failure.fix else {}
    return DDError(
        failure.code,
        {**ctx, "reason": failure.reason or "provider_rejected", "status": failure.status, "error": failure.error,
         "message": failure.message, **fix},
    )


def _unavailable(failure: Failure, ctx: dict[str, Any], attempts: int) -> DDError:
    return DDError(
        Err.IO_ERROR,
        {**ctx, "reason": "provider_unavailable", "status": failure.status, "error": failure.error,
         "attempts": attempts, "message": failure.message,
         "fix": "check the provider (base_url) is up, or raise its max_retries; then run snakemake again"},
    )


def _waits_too_long(failure: Failure, ctx: dict[str, Any], attempts: int, bound: float) -> DDError:
    return DDError(
        Err.IO_ERROR,
        {**ctx, "reason": "retry_after_too_long", "status": failure.status, "error": failure.error,
         "retry_after_s": failure.retry_after, "max_retry_wait_s": bound, "attempts": attempts,
         "message": failure.message,
         "fix": "run again later, or raise the provider's max_retry_wait_s to wait that long"},
    )


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    ctx: dict[str, Any],
    *,
    secrets: Iterable[str] = (),
    sleep: Sleep = time.sleep,
    rng: Callable[[], float] = random.random,
    before_attempt: Callable[[], object] | None = None,
    on_failed_attempt: Callable[[dict[str, Any]], object] | None = None,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds or the policy gives up; returns (result, attempts).

    ``ctx`` (provider, base_url, model_id) is copied into every error. Non-retryable failures
    raise at once (``reason=provider_rejected``), as does a ``Retry-After`` beyond the policy's
    bound (``retry_after_too_long``); exhausted retries raise ``reason=provider_unavailable``.
    ``before_attempt`` runs before every attempt (the first included) and whatever it raises
    propagates unchanged; ``on_failed_attempt`` gets :meth:`Failure.report` of every failure.
    """
    secrets = tuple(secrets)
    attempt = 0
    while True:
        attempt += 1
        if before_attempt is not None:
            before_attempt()
        try:
            return call(), attempt
        except (openai.OpenAIError, AttemptFailed) as exc:
            failure = classify(exc, secrets)
        if on_failed_attempt is not None:
            on_failed_attempt(failure.report(attempt))
        if not failure.retryable:
            raise _rejected(failure, ctx)
        if failure.retry_after is not None and failure.retry_after > policy.max_retry_wait_s:
            raise _waits_too_long(failure, ctx, attempt, policy.max_retry_wait_s)
        if attempt > policy.max_retries:
            raise _unavailable(failure, ctx, attempt)
        delay = max(failure.retry_after or 0.0, policy.backoff(attempt, rng))
        log.warning(
            "LLM attempt %d/%d failed (provider=%s base_url=%s model_id=%s status=%s error=%s); retrying in %.2fs",
            attempt, policy.max_retries + 1, ctx.get("provider"), ctx.get("base_url"), ctx.get("model_id"),
            failure.status, failure.error, delay,
        )
        sleep(delay)
