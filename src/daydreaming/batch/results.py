"""What one line of a batch's result files means: an answer, a failed request, or a request never run.

Pure (no I/O): ``daydreaming.batch.land`` applies the outcome. The provider writes answered
requests to the output file and the others to the error file: a request that failed carries
the provider's status and error body, a request an expired or cancelled batch never ran
carries ``error.code`` ``batch_expired``/``batch_cancelled``, and a request found in neither
file was not run either. A 200 whose body is not a usable answer is a failed request the
provider may have billed, exactly as for a call made alone (``llm.reply``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import Err
from ..llm.reply import Answer, BadReply, read_answer
from ..llm.retry import redact

NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})
CONFIG_STATUS = frozenset({400, 401, 403, 404, 422})  # the request itself is refused (as for a call alone)
FAILED_REASON = "batch_request_failed"


@dataclass(frozen=True)
class Answered:
    answer: Answer
    request_id: str | None  # the provider's id of the HTTP request inside the batch


@dataclass(frozen=True)
class Failed:
    code: Err
    ctx: dict[str, Any]  # status, error, message (scrubbed of anything key-shaped)
    billable: bool = False
    usage: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class NotRun:
    why: str  # batch_expired, batch_cancelled, absent, batch_failed


Outcome = Answered | Failed | NotRun


def read_results(*texts: str) -> dict[str, dict[str, Any]]:
    """custom_id -> result line, from the output and error files (a garbled line is skipped:
    its request counts as not run, and is asked again)."""
    found: dict[str, dict[str, Any]] = {}
    for text in texts:
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
                found[line["custom_id"]] = line
    return found


def _error_of(body: Any) -> tuple[str | None, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    kind = error.get("code") or error.get("type")
    return (str(kind) if kind is not None else None), str(error.get("message") or "")


def outcome(line: dict[str, Any] | None) -> Outcome:
    """The outcome of one request from its result line (None: the line is in neither file)."""
    if line is None:
        return NotRun("absent")
    response = line.get("response")
    if not isinstance(response, dict):
        kind, message = _error_of({"error": line.get("error")})
        if kind in NOT_RUN:
            return NotRun(kind)
        return Failed(Err.IO_ERROR, {"status": None, "error": kind, "message": redact(message)})
    status, body = response.get("status_code"), response.get("body")
    if status == 200:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        try:
            return Answered(read_answer(data), response.get("request_id"))
        except BadReply as bad:
            code = Err.IO_ERROR if bad.retryable else Err.INVALID_CONFIG
            return Failed(code, {"status": 200, "error": bad.error, "message": redact(bad.message)},
                          billable=True, usage=bad.usage)
    kind, message = _error_of(body)
    code = Err.INVALID_CONFIG if status in CONFIG_STATUS else Err.IO_ERROR
    return Failed(code, {"status": status, "error": kind, "message": redact(message)})
