"""The Batch API of the loopback server: ``/v1/files`` and ``/v1/batches``, as OpenAI serves them.

Why a real one: batch mode is only trustworthy if it is tested against a provider that keeps
batches while the client is dead, answers part of a batch before it expires or is cancelled,
fails single requests inside it, and creates a batch whose id the client never hears of (killed
while the create request was in flight). So this service keeps files and batches in memory for
as long as the server lives, whatever the client does, and lets a test say how long a batch
takes, when it expires and which of its requests fail.

Time is simulated per batch: request *i* of *n* is done ``latency_s * (i + 1) / n`` seconds
after the batch was created, so when it expires (``expire_after_s``) or is cancelled, the
requests done by then are answered and the others are not; what a batch contains and how
long it takes decide the outcome, not when the client happens to look. A batch keeps the
latency and expiry set when it was created (a test may change them for the next one), and the
clock is injectable (``clock``) so a test can move a batch to any moment of its life. A request whose prompt
matches a fault rule (``faults``, as for chat requests) fails inside the batch with that
status, or answers 200 with that bad body.

Every request of every batch is logged (``lines``): batch, custom_id, prompt, when its batch was
created and ended, and what it got, so tests check from the provider's side that no generation
was in two live batches and none went unanswered.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import DDError
from .faults import Fault, FaultBook, apply_to_payload, bad_body
from .responder import error_body, prompt_of, respond

TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})
ENDPOINT = "/v1/chat/completions"
VALIDATING_S = 0.05  # a new batch is "validating" this long, then "in_progress"
Reply = tuple[int, Any]  # (status, JSON payload) or (status, bytes) for file content


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)  # bytes for a non-multipart part
            fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page as the SDK reads it (``after`` = the last id of the previous page)."""
    ids = [item["id"] for item in items]
    start = ids.index(after) + 1 if after in ids else 0
    data = items[start:start + limit]
    return {"object": "list", "data": data, "has_more": start + limit < len(items),
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


class BatchService:
    """Files and batches of one server, thread-safe; ``clock`` is injectable for unit tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.latency_s = 1.0
        self.expire_after_s: float | None = None
        self.op_latency: dict[str, float] = {}  # extra seconds before answering: upload, create, content...
        self.faults = FaultBook()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._files: dict[str, dict[str, Any]] = {}
        self._data: dict[str, bytes] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._requests: dict[str, list[dict[str, Any]]] = {}  # batch id -> its parsed input lines
        self._lines: list[dict[str, Any]] = []

    # --- control ---------------------------------------------------------------------------
    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /_batches``: latency_s, expire_after_s, op_latency, faults (per request)."""
        if "latency_s" in body:
            self.latency_s = float(body["latency_s"])
        if "expire_after_s" in body:
            self.expire_after_s = None if body["expire_after_s"] is None else float(body["expire_after_s"])
        if "op_latency" in body:
            self.op_latency = {str(k): float(v) for k, v in dict(body["op_latency"]).items()}
        for item in body.get("faults", []):
            self.faults.add(Fault.from_dict(item))
        return {"latency_s": self.latency_s, "expire_after_s": self.expire_after_s, "op_latency": self.op_latency}

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every request of every batch (oldest first), with its outcome once its batch ended."""
        with self._lock:
            for batch_id in list(self._batches):
                self._refresh(batch_id)
            return [dict(line) for line in self._lines]

    def reset(self) -> None:
        with self._lock:
            self._lines.clear()
        self.faults.clear()

    # --- routing ---------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, str], content_type: str, body: bytes
    ) -> tuple[str, Reply]:
        """(operation name, reply) for an API request under ``/v1/files`` or ``/v1/batches``."""
        parts = [p for p in path.split("/") if p]
        parts = parts[parts.index("v1") + 1:] if "v1" in parts else parts
        with self._lock:
            if parts[0] == "files":
                return self._files_api(method, parts[1:], query, content_type, body)
            return self._batches_api(method, parts[1:], query, body)

    def _files_api(self, method: str, rest: list[str], query: dict[str, str], content_type: str,
                   body: bytes) -> tuple[str, Reply]:
        if method == "POST" and not rest:
            return "upload", self._upload(content_type, body)
        if method == "GET" and not rest:
            items = [f for f in sorted(self._files.values(), key=lambda f: -f["seq"])
                     if not query.get("purpose") or f["purpose"] == query["purpose"]]
            return "list_files", (200, _page([self._public(f) for f in items], query.get("after"),
                                             int(query.get("limit") or 10000)))
        found = self._files.get(rest[0]) if rest else None
        if found is None:
            return "file", (404, error_body(f"no such file: {'/'.join(rest)}", 404, "not_found_error"))
        if method == "GET" and rest[1:] == ["content"]:
            return "content", (200, self._data[found["id"]])
        if method == "GET" and len(rest) == 1:
            return "file", (200, self._public(found))
        if method == "DELETE" and len(rest) == 1:
            del self._files[found["id"]], self._data[found["id"]]
            return "delete_file", (200, {"id": found["id"], "object": "file", "deleted": True})
        return "file", (404, error_body("no such route", 404, "not_found_error"))

    def _batches_api(self, method: str, rest: list[str], query: dict[str, str], body: bytes) -> tuple[str, Reply]:
        if method == "POST" and not rest:
            return "create", self._create(body)
        if method == "GET" and not rest:
            for batch_id in self._batches:
                self._refresh(batch_id)
            items = sorted(self._batches.values(), key=lambda b: -b["seq"])
            return "list_batches", (200, _page([self._public(b) for b in items], query.get("after"),
                                               int(query.get("limit") or 20)))
        batch = self._batches.get(rest[0]) if rest else None
        if batch is None:
            return "batch", (404, error_body(f"no such batch: {'/'.join(rest)}", 404, "not_found_error"))
        if method == "POST" and rest[1:] == ["cancel"]:
            self._refresh(batch["id"])
            if batch["status"] not in TERMINAL:
                batch["status"], batch["cancelling_at"] = "cancelling", int(self.clock())
                batch["_cancel_at"] = self.clock()
            return "cancel", (200, self._public(batch))
        if method == "GET" and len(rest) == 1:
            self._refresh(batch["id"])
            return "retrieve", (200, self._public(batch))
        return "batch", (404, error_body("no such route", 404, "not_found_error"))

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_") and k != "seq"}

    # --- files -----------------------------------------------------------------------------
    def _new_file(self, purpose: str, filename: str, data: bytes) -> dict[str, Any]:
        seq = next(self._ids)
        file: dict[str, Any] = {"id": f"file-{seq:06d}", "object": "file", "bytes": len(data),
                                "created_at": int(self.clock()), "filename": filename, "purpose": purpose,
                                "status": "processed", "seq": seq}
        self._files[file["id"]], self._data[file["id"]] = file, data
        return file

    def _upload(self, content_type: str, body: bytes) -> Reply:
        try:
            fields = _multipart(content_type, body)
        except (ValueError, TypeError):
            fields = {}
        if "file" not in fields or "purpose" not in fields:
            return 400, error_body("multipart body needs 'file' and 'purpose'", 400)
        filename, data = fields["file"]
        return 200, self._public(self._new_file(fields["purpose"][1].decode(), filename or "upload", data))

    # --- batches ---------------------------------------------------------------------------
    def _create(self, body: bytes) -> Reply:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return 400, error_body("request body is not JSON", 400)
        if not isinstance(params, dict) or params.get("input_file_id") not in self._files:
            return 400, error_body("input_file_id names no uploaded file", 400)
        if params.get("endpoint") != ENDPOINT or params.get("completion_window") != "24h":
            return 400, error_body("only endpoint /v1/chat/completions and completion_window 24h", 400)
        seq, now = next(self._ids), self.clock()
        batch = {"id": f"batch_{seq:06d}", "object": "batch", "endpoint": ENDPOINT, "errors": None,
                 "input_file_id": params["input_file_id"], "completion_window": "24h", "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": int(now),
                 "expires_at": int(now + 86400), "metadata": params.get("metadata"), "seq": seq, "_created": now,
                 "_latency": self.latency_s, "_expire_after": self.expire_after_s,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}}
        requests, problem = self._read_input(self._data[params["input_file_id"]])
        if problem:
            batch.update(status="failed", failed_at=int(now), errors={"object": "list", "data": [problem]})
            requests = []
        self._batches[batch["id"]], self._requests[batch["id"]] = batch, requests
        batch["request_counts"]["total"] = len(requests)
        for request in requests:
            self._lines.append({"batch_id": batch["id"], "custom_id": request["custom_id"],
                                "model": request["body"].get("model"), "prompt": request["prompt"],
                                "created_at": now, "ended_at": None, "outcome": None, "response_id": None,
                                "usage": None})
        return 200, self._public(batch)

    @staticmethod
    def _read_input(data: bytes) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The requests of an input file, or the first reason it is refused (the batch fails)."""
        requests, seen, models = [], set(), set()
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                prompt = prompt_of(line["body"])
                custom_id, model = line["custom_id"], line["body"]["model"]
            except (ValueError, KeyError, TypeError, AttributeError, DDError):
                return [], {"code": "invalid_request", "message": "line is not a batch request", "line": number}
            if custom_id in seen or line.get("method") != "POST" or line.get("url") != ENDPOINT:
                return [], {"code": "invalid_request", "message": "duplicate custom_id or wrong method/url",
                            "line": number}
            seen.add(custom_id)
            models.add(model)
            requests.append({"custom_id": custom_id, "body": line["body"], "prompt": prompt})
        if len(models) > 1:
            return [], {"code": "mixed_models", "message": "a batch may use one model only", "line": None}
        if not requests:
            return [], {"code": "empty_file", "message": "the input file has no request", "line": None}
        return requests, None

    def _done_by(self, batch: dict[str, Any], moment: float) -> int:
        """How many of the batch's requests are done ``moment`` seconds into the batch."""
        total = len(self._requests[batch["id"]])
        if batch["_latency"] <= 0:
            return total
        return min(total, int(total * moment / batch["_latency"] + 1e-9))

    def _refresh(self, batch_id: str) -> None:
        """Move a batch along its simulated clock; at its end, write its output and error files."""
        batch = self._batches[batch_id]
        if batch["status"] in TERMINAL:
            return
        now = self.clock()
        age = now - batch["_created"]
        ends = [(batch["_latency"], "completed")]
        if batch["_expire_after"] is not None:
            ends.append((batch["_expire_after"], "expired"))
        if "_cancel_at" in batch:
            ends.append((batch["_cancel_at"] - batch["_created"], "cancelled"))
        at, status = min(ends, key=lambda end: end[0])
        if age < at and status != "cancelled":
            batch["status"] = "validating" if age < VALIDATING_S else "in_progress"
            batch["request_counts"]["completed"] = self._done_by(batch, age)
            return
        self._finish(batch, status, self._done_by(batch, at) if status != "completed" else None, now)

    def _finish(self, batch: dict[str, Any], status: str, done: int | None, now: float) -> None:
        requests = self._requests[batch["id"]]
        done = len(requests) if done is None else done
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        counts = {"total": len(requests), "completed": 0, "failed": 0}
        lines = {line["custom_id"]: line for line in self._lines if line["batch_id"] == batch["id"]}
        for index, request in enumerate(requests):
            line = lines[request["custom_id"]]
            line["ended_at"] = now
            if index >= done:
                code = "batch_expired" if status == "expired" else "batch_cancelled"
                errors.append({"id": f"batch_req_{batch['id']}_{index}", "custom_id": request["custom_id"],
                               "response": None, "error": {"code": code, "message": f"request not run: {code}"}})
                line["outcome"] = code
                continue
            result, ok = self._answer(batch, index, request)
            (outputs if ok else errors).append(result)
            counts["completed" if ok else "failed"] += 1
            body = result["response"]["body"]
            line.update(outcome="answered" if ok else "failed", status=result["response"]["status_code"],
                        response_id=body.get("id") if isinstance(body, dict) else None,
                        usage=body.get("usage") if isinstance(body, dict) else None)
        batch.update(status=status, request_counts=counts, **{f"{status}_at": int(now)})
        if outputs:
            batch["output_file_id"] = self._new_file("batch_output", f"{batch['id']}_output.jsonl",
                                                     _jsonl(outputs))["id"]
        if errors:
            batch["error_file_id"] = self._new_file("batch_output", f"{batch['id']}_error.jsonl", _jsonl(errors))["id"]

    def _answer(self, batch: dict[str, Any], index: int, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """One request's result line, and whether it goes to the output file (else the error file)."""
        fault = self.faults.take(request["prompt"])
        request_id = "req_" + hashlib.sha256(f"{batch['id']}/{index}".encode()).hexdigest()[:20]
        line_id = f"batch_req_{batch['id']}_{index}"
        if fault is not None and fault.status is not None:
            body: Any = error_body(fault.message or f"injected fault {fault.status}", fault.status, "injected_fault")
            response = {"status_code": fault.status, "request_id": request_id, "body": body}
            return {"id": line_id, "custom_id": request["custom_id"], "response": response, "error": None}, False
        payload = respond(request["body"], generation=request["custom_id"])
        payload["id"] = f"{payload['id']}-{batch['id']}"  # one answer, one id
        payload = apply_to_payload(fault, payload)
        replaced = bad_body(fault, payload)
        body = payload
        if replaced is not None:
            try:
                body = json.loads(replaced[0])
            except ValueError:
                body = replaced[0].decode("utf-8", "replace")
        response = {"status_code": 200, "request_id": request_id, "body": body}
        return {"id": line_id, "custom_id": request["custom_id"], "response": response, "error": None}, True


def _jsonl(items: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()
