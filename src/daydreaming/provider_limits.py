"""Everything that decides when an attempt to a provider may start, shared by every process on
the data root: the limits the provider announced, requests and tokens per minute, and the
adaptive number of calls in flight.

Providers say their limits in ``x-ratelimit-*`` headers (OpenAI, OpenRouter, vLLM behind a
gateway): ``limit-requests`` / ``limit-tokens`` per minute, ``remaining-*`` and ``reset-*``
(``"1s"``, ``"6m0s"``, ``"20ms"``). What they say is learned into the provider's shared state:
a lower per-minute limit than configured is used instead, and none remaining means no attempt
starts before the reset. A 429 halves the calls in flight, successes grow them back
(``daydreaming.concurrency``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .concurrency import AdaptiveConcurrency
from .provider_state import ProviderState
from .ratelimit import RateLimiter

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """``"6m0s"`` -> 360.0, ``"20ms"`` -> 0.02, ``"1.5"`` -> 1.5; None when unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(headers.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def learned_limits(headers: Mapping[str, str], now: float) -> dict[str, float]:
    """What a reply's ``x-ratelimit-*`` headers teach: ``rpm``, ``tpm`` and ``blocked_until``
    (a wall-clock time: nothing remaining before then)."""
    found: dict[str, float] = {}
    for kind, key in (("requests", "rpm"), ("tokens", "tpm")):
        limit = _number(headers, f"x-ratelimit-limit-{kind}")
        if limit:
            found[key] = limit
        remaining = _number(headers, f"x-ratelimit-remaining-{kind}")
        reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
        if remaining == 0 and reset:
            found["blocked_until"] = max(found.get("blocked_until", 0.0), now + reset)
    return found


@dataclass
class Reply:
    """What an attempt saw of the provider's reply (the client fills it in)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    started: float = 0.0  # when the attempt started (the limits' clock)


class ProviderLimits:
    """The gate every attempt to one provider passes (``attempt``), and what it learns from the reply."""

    def __init__(self, state: ProviderState, *, requests: RateLimiter | None = None,
                 tokens: RateLimiter | None = None, concurrency: AdaptiveConcurrency | None = None,
                 rpm_limiter: Callable[[float], RateLimiter] | None = None,
                 tpm_limiter: Callable[[float], RateLimiter] | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.state = state
        self.requests, self.tokens, self.concurrency = requests, tokens, concurrency
        self._rpm_limiter, self._tpm_limiter = rpm_limiter, tpm_limiter  # made when a limit is first learned
        self._clock, self._sleep = clock, sleep

    def __repr__(self) -> str:
        return f"ProviderLimits({self.state!r})"

    @contextmanager
    def attempt(self, tokens: int) -> Iterator[Reply]:
        """Wait until an attempt of ``tokens`` (prompt + max_tokens) may start, hold its place while
        it runs, then learn from its reply."""
        learned = self.state.read()
        blocked = float(learned.get("blocked_until", 0.0)) - self._clock()
        if blocked > 0:
            self._sleep(blocked)
        rpm, tpm = learned.get("rpm"), learned.get("tpm")
        if self.requests is None and rpm and self._rpm_limiter:
            self.requests = self._rpm_limiter(float(rpm))
        if self.tokens is None and tpm and self._tpm_limiter:
            self.tokens = self._tpm_limiter(float(tpm))
        if self.requests is not None:
            self.requests.acquire(1.0, rpm)
        if self.tokens is not None:
            self.tokens.acquire(float(tokens), tpm)
        reply = Reply()
        reply.started = self._clock()
        try:
            if self.concurrency is None:
                yield reply
            else:
                with self.concurrency.slot():
                    yield reply
        finally:  # a failed attempt (a 429 raises) teaches the most
            self._learn(reply)

    def _learn(self, reply: Reply) -> None:
        if self.concurrency is not None:
            if reply.status == 429:
                self.concurrency.throttled(reply.retry_after, self._clock() - reply.started)
            elif reply.status is not None and reply.status < 400:
                self.concurrency.succeeded()
        found = learned_limits(reply.headers, self._clock())
        if found:
            current = self.state.read()
            if any(current.get(k) != v for k, v in found.items()):
                self.state.update(lambda state: {**state, **found})


def for_provider(paths: Any, name: str, settings: Any, cap: int | None = None) -> ProviderLimits:
    """The limits of one configured provider (``config.ProviderSettings``) on a data root;
    ``cap``: the calls in flight allowed at most (default its ``max_concurrent``)."""
    state = ProviderState(paths.ratelimit_state_file(name))
    rpm = settings.requests_per_minute
    tpm = settings.tokens_per_minute

    def rpm_limiter(per_minute: float) -> RateLimiter:
        return RateLimiter(paths.ratelimit_file(name), per_minute)

    def tpm_limiter(per_minute: float) -> RateLimiter:
        return RateLimiter(paths.tokens_ratelimit_file(name), per_minute)

    concurrency = (AdaptiveConcurrency(paths.concurrency_slots_dir(name), state, cap or settings.max_concurrent)
                   if settings.adaptive_concurrency else None)
    return ProviderLimits(state, requests=rpm_limiter(rpm) if rpm else None,
                          tokens=tpm_limiter(tpm) if tpm else None, concurrency=concurrency,
                          rpm_limiter=rpm_limiter, tpm_limiter=tpm_limiter)
