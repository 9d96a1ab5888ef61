"""Fault injection for the loopback server: what the next request (or a matching prompt) suffers.

Retry logic is only trustworthy if it is tested against a real HTTP peer that misbehaves the
way providers do (429 with Retry-After, 5xx bursts, hangs, dropped sockets, truncated answers,
200s whose body is not an answer), so faults are data the server consumes, settable from
Python or over HTTP by another process.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import DDError, Err

# 200 bodies that are not answers, as gateways and providers send them (``Fault.body``).
BAD_BODIES = {
    "malformed_json": "a JSON content type, the body cut off mid-object",
    "not_json": "an HTML page (a proxy's error page) with status 200",
    "not_completion": "valid JSON that is not a chat completion (no choices, no error)",
    "empty_choices": "the completion with choices: [] (usage kept)",
    "null_content": "the completion with message.content: null (usage kept)",
    "blank_content": "the completion with whitespace-only content (usage kept)",
}


@dataclass(frozen=True)
class Fault:
    """One misbehaviour. Unset fields leave the normal answer alone.

    ``match``: apply to requests whose prompt contains this substring (a rule) instead of to the
    next request in FIFO order; ``times``: how many requests a rule hits (None = forever).
    ``body``: answer 200 with one of :data:`BAD_BODIES` instead of the answer. ``headers`` are
    added to the reply, whatever it is.
    """

    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    latency_s: float = 0.0
    truncate: bool = False
    drop: bool = False
    usage_cost: float | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra reply headers, e.g. x-ratelimit-*
    match: str | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.body is not None and self.body not in BAD_BODIES:
            raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_fault_body", "body": self.body,
                                               "allowed": sorted(BAD_BODIES)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from JSON (the ``POST /_faults`` body); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DDError(
                Err.INVALID_CONFIG, {"reason": "unknown_fault_field", "fields": unknown, "allowed": sorted(known)}
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """Thread-safe store of pending faults: a FIFO queue plus prompt-substring rules.

    A matching rule wins over the queue, so a test can target one prompt while others flow.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._rules: list[list[Any]] = []  # [fault, remaining or None]

    def add(self, fault: Fault) -> None:
        with self._lock:
            if fault.match is None:
                self._queue.append(fault)
            else:
                self._rules.append([fault, fault.times])

    def take(self, prompt: str) -> Fault | None:
        """The fault for a request with this prompt, consuming it (or one use of a rule)."""
        with self._lock:
            for rule in self._rules:
                fault, remaining = rule
                if fault.match is not None and fault.match in prompt and remaining != 0:
                    if remaining is not None:
                        rule[1] = remaining - 1
                    return fault
            return self._queue.popleft() if self._queue else None

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + sum(1 for _, left in self._rules if left != 0)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rules.clear()


def apply_to_payload(fault: Fault | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply the answer-shaping parts of a fault (truncate, usage extras) to a 200 response."""
    if fault is None or "choices" not in payload:
        return payload
    if fault.truncate:
        for choice in payload["choices"]:
            choice["finish_reason"] = "length"
    usage = payload.setdefault("usage", {})
    usage.update(fault.usage)
    if fault.usage_cost is not None:
        usage["cost"] = fault.usage_cost
    return payload


def bad_body(fault: Fault | None, payload: dict[str, Any]) -> tuple[bytes, str] | None:
    """The (body, content type) replacing a 200 answer for a ``body`` fault, else None."""
    if fault is None or fault.body is None:
        return None
    if fault.body == "malformed_json":
        text = json.dumps(payload)
        return text[: len(text) // 2].encode(), "application/json"
    if fault.body == "not_json":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    if fault.body == "not_completion":
        return json.dumps({"object": "list", "data": []}).encode(), "application/json"
    shaped = json.loads(json.dumps(payload))
    if fault.body == "empty_choices":
        shaped["choices"] = []
    else:
        content = None if fault.body == "null_content" else " \n\t "
        for choice in shaped.get("choices", []):
            choice["message"]["content"] = content
    return json.dumps(shaped).encode(), "application/json"
