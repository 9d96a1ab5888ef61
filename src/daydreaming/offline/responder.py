"""A deterministic stand-in for an OpenAI-compatible chat model.

The demo pipeline and the test suite need answers without a network, a key or a GPU, and they
need the *same* answer every time for the same (model, prompt, generation) so reruns are
reproducible and the in-process provider can be compared byte for byte with the loopback
server. The generation (the client's ``X-Daydreaming-Generation`` header, ``<stage>/<gen_id>``)
is part of the key so that replicates of one prompt get different answers, as from a sampling
model: reports need scores that vary across replicates. Without the header, the answer
depends on (model, prompt) alone.

The answers are shaped so the real parsers succeed: ``<essay-idea>`` blocks for draft
templates, ``<essay>`` blocks for essay templates and a final ``SCORE: N`` line for
evaluation templates.

Everything here is pure (no clock, no I/O): both the loopback HTTP server and the in-process
``httpx`` transport call :func:`dispatch`, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from ..errors import DDError, Err

GENERATION_HEADER = "X-Daydreaming-Generation"  # which generation a request is for (client -> provider)
ECHO_MODEL = "offline/echo"
MODELS = ("offline/demo", ECHO_MODEL)

_WORDS = (
    "memory", "signal", "pattern", "loop", "critic", "generator", "idea", "concept", "bridge",
    "tension", "insight", "network", "feedback", "search", "novel", "combination", "structure",
    "process", "evidence", "hypothesis", "mechanism", "background", "daydream", "link", "domain",
    "synthesis", "value", "filter", "noise", "model", "question", "answer", "system", "theory",
    "quietly", "often", "rarely", "gradually", "suddenly", "carefully", "connects", "reshapes",
    "reveals", "tests", "explains", "suggests", "combines", "rejects", "keeps", "turns", "the",
    "a", "each", "every", "its", "this", "that", "between", "across", "within", "through", "into",
    "over", "under",
)
_WORD_RE = re.compile(r"\S+")


def _stream(key: bytes) -> Iterator[int]:
    """Yield an endless deterministic byte stream by chaining sha256 (so long answers stay cheap)."""
    counter = 0
    while True:
        yield from hashlib.sha256(key + counter.to_bytes(8, "big")).digest()
        counter += 1


def _sentences(key: bytes, count: int) -> list[str]:
    """Build ``count`` plausible-looking sentences from the byte stream."""
    data = _stream(key)
    out = []
    for _ in range(count):
        words = [_WORDS[next(data) % len(_WORDS)] for _ in range(6 + next(data) % 7)]
        out.append(" ".join(words).capitalize() + ".")
    return out


def _echo(prompt: str) -> str:
    """A short, tag-free echo of the prompt's first non-empty line (shows which prompt was answered).

    Angle brackets are removed so an echoed template line can never open a block the parsers
    would then look for.
    """
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    words = first.replace("<", "").replace(">", "").split()[:8]
    return " ".join(words)


def _compose(digest: bytes, prompt: str) -> str:
    """The format-aware answer text for the demo model."""
    # one sentence per line: real drafts are multi-line and the draft stage checks min_lines
    body = "\n".join(_sentences(digest, 3 + digest[0] % 3))
    parts = [f'Responding to "{_echo(prompt)}".']
    if "<essay-idea" in prompt:
        parts.append(f'<essay-idea stage="1">\n{body}\n</essay-idea>')
    if "<essay>" in prompt:
        parts.append(f"<essay>\n{body}\n</essay>")
    if not parts[1:]:
        parts.append(body)
    if "SCORE" in prompt:
        parts.append(f"REASONING: {_sentences(digest[1:], 1)[0]}\nSCORE: {digest[2] % 10}")
    return "\n\n".join(parts)


def _truncate(text: str, max_tokens: int | None) -> tuple[str, int, bool]:
    """Cut ``text`` after ``max_tokens`` whitespace words, keeping its line structure.

    Returns (text, word count, truncated?). A word stands in for a token so the demo exercises
    the same truncation bookkeeping as a real provider.
    """
    words = list(_WORD_RE.finditer(text))
    if max_tokens is None or len(words) <= max_tokens:
        return text, len(words), False
    if max_tokens <= 0:
        return "", 0, True
    return text[: words[max_tokens - 1].end()], max_tokens, True


def prompt_of(request: dict[str, Any]) -> str:
    """Join the text of the request's messages (the pipeline sends one user message)."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_request", "field": "messages"})
    texts = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts: keep the text ones
            content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_request", "field": "messages.content"})
        texts.append(content)
    return "\n".join(texts)


def _max_tokens_of(request: dict[str, Any]) -> int | None:
    value = request.get("max_tokens", request.get("max_completion_tokens"))
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_request", "field": "max_tokens"})
    return value


def _digest(model: str, prompt: str, generation: str | None) -> bytes:
    key = f"{model}\n{prompt}" if generation is None else f"{model}\n{generation}\n{prompt}"
    return hashlib.sha256(key.encode()).digest()


def respond(request: dict[str, Any], generation: str | None = None) -> dict[str, Any]:
    """Answer a chat.completions request body with a chat.completion response body.

    Deterministic in (model, prompt, generation, max_tokens). Raises ``DDError(INVALID_CONFIG,
    reason=invalid_request)`` for a malformed body (the HTTP layers turn it into a 400).
    """
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_request", "field": "model"})
    prompt = prompt_of(request)
    digest = _digest(model, prompt, generation)
    full = prompt if model == ECHO_MODEL else _compose(digest, prompt)
    text, completion_tokens, cut = _truncate(full, _max_tokens_of(request))
    prompt_tokens = len(prompt.split())
    return {
        "id": "offline-" + digest.hex()[:24],
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length" if cut else "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, status: int, error_type: str = "invalid_request_error") -> dict[str, Any]:
    """An OpenAI-shaped error payload (the SDK reads ``error.message`` from it)."""
    return {"error": {"message": message, "type": error_type, "code": status}}


def models_body() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "offline"} for m in MODELS]}


def dispatch(method: str, path: str, body: bytes, generation: str | None = None) -> tuple[int, dict[str, Any]]:
    """Route one OpenAI-compatible API request to (status, JSON payload).

    ``path`` is the URL path (``/v1/chat/completions``); anything outside the two supported
    endpoints gets a 404 like a real server would give. ``generation`` is the value of the
    :data:`GENERATION_HEADER` request header, when there is one.
    """
    if method == "GET" and path.endswith("/models"):
        return 200, models_body()
    if method != "POST" or not path.endswith("/chat/completions"):
        return 404, error_body(f"no route for {method} {path}", 404, "not_found_error")
    try:
        request = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise DDError(Err.INVALID_CONFIG, {"reason": "invalid_request", "field": "body"})
        return 200, respond(request, generation)
    except json.JSONDecodeError:
        return 400, error_body("request body is not JSON", 400)
    except DDError as err:
        return 400, error_body(f"invalid field: {err.ctx.get('field')}", 400)
