"""A real OpenAI-compatible HTTP server on loopback, answering with the offline responder.

Why a real server: the LLM client must be tested through the real ``openai`` SDK over real
sockets (status codes, headers, timeouts, dropped connections), and a Snakemake run in another
process must be able to point at it and then be inspected. Stdlib only (``ThreadingHTTPServer``).

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, the Batch API under ``/v1/files`` and
``/v1/batches`` (``daydreaming.offline.batches``) and ``GET /_stats``, ``GET /_requests``,
``GET /_batch_lines``, ``POST /_faults``, ``POST /_batches``, ``POST /_reset`` (control; not
counted as requests).
Keys are never stored: an ``Authorization`` header is recorded as present/absent plus a sha256.
Each log entry names the generation the request was for (``generation``: the client's
``X-Daydreaming-Generation`` header, else None), so tests can count requests per generation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..errors import DDError
from .batches import BatchService
from .faults import Fault, FaultBook, apply_to_payload, bad_body
from .responder import GENERATION_HEADER, dispatch, error_body, prompt_of

log = logging.getLogger(__name__)

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


def _secret_digest(value: str) -> str:
    """sha256 of a credential header's token, so tests can check which key was sent without it."""
    token = value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
    return hashlib.sha256(token.encode()).hexdigest()


class OfflineServer(ThreadingHTTPServer):
    """The server plus its observable state (request log, counters, faults, latency)."""

    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: 256 clients connecting at once must not be refused

    def __init__(self, port: int = 0, latency_s: float = 0.0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.latency_s = latency_s
        self.faults = FaultBook()
        self.batches = BatchService()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._statuses: Counter[str] = Counter()
        self._in_flight = 0
        self._max_in_flight = 0

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log (API requests only, oldest first)."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def max_in_flight(self) -> int:
        """The most chat requests this server was answering at once (concurrency caps are
        asserted on what the provider sees, not on what the client believes it sent)."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight_now(self) -> int:
        with self._lock:
            return self._in_flight

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> None:
        """Queue a fault: ``add_fault(status=429, retry_after=1)`` or ``add_fault(Fault(...))``."""
        self.faults.add(fault if fault is not None else Fault.from_dict(fields))

    def reset(self) -> None:
        """Forget requests, counters and faults (the latency setting stays)."""
        self.faults.clear()
        self.batches.reset()
        with self._lock:
            self._requests.clear()
            self._statuses.clear()
            self._max_in_flight = self._in_flight

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "request_count": len(self._requests),
                "by_status": dict(self._statuses),
                "by_model": dict(Counter(str(r.get("model")) for r in self._requests)),
                "pending_faults": self.faults.pending(),
                "latency_s": self.latency_s,
                "max_in_flight": self._max_in_flight,
            }

    def record(self, entry: dict[str, Any]) -> int:
        """Log a request; returns its sequence number (1-based), which makes its answer's id unique."""
        with self._lock:
            self._requests.append(entry)
            return len(self._requests)

    def note(self, entry: dict[str, Any], **fields: Any) -> None:
        """Add what became known after the request was logged (the answer's id, its delivery)."""
        with self._lock:
            entry.update(fields)

    def count_status(self, status: int | str) -> None:
        with self._lock:
            self._statuses[str(status)] += 1

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at shutdown so a hung request never outlives the server for long."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out close their socket; writing to it then is expected, not news."""
        log.debug("offline server: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: OfflineServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK: 40 ms added to every request on loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("offline server: " + format, *args)

    def do_GET(self) -> None:
        self._route(b"")

    def do_DELETE(self) -> None:
        self._route(b"")

    def do_POST(self) -> None:
        self._route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _route(self, body: bytes) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_"):
            self._control(path, body)
        else:
            self._api(path, body)

    def _control(self, path: str, body: bytes) -> None:
        srv = self.server
        try:
            if self.command == "GET" and path == "/_stats":
                return self._send(200, srv.stats())
            if self.command == "GET" and path == "/_requests":
                return self._send(200, {"requests": srv.requests})
            if self.command == "GET" and path == "/_batch_lines":
                return self._send(200, {"lines": srv.batches.lines})
            if self.command == "POST" and path == "/_batches":
                return self._send(200, srv.batches.configure(json.loads(body or b"{}")))
            if self.command == "POST" and path == "/_reset":
                srv.reset()
                return self._send(200, {"ok": True})
            if self.command == "POST" and path == "/_faults":
                return self._send(200, _apply_fault_request(srv, json.loads(body or b"{}")))
        except (ValueError, TypeError, DDError) as exc:
            return self._send(400, error_body(f"bad control request: {type(exc).__name__}", 400))
        self._send(404, error_body(f"no route for {self.command} {path}", 404, "not_found_error"))

    def _api(self, path: str, body: bytes) -> None:
        if self.command == "POST" and path.endswith("/chat/completions"):
            with self.server.in_flight():
                return self._chat(path, body)
        if "/files" in path or "/batches" in path:
            return self._batch_api(path, body)
        return self._answer(path, body, _parse_json(body), None)

    def _batch_api(self, path: str, body: bytes) -> None:
        """A Batch API request: done at once (a client killed while it waits for the reply has
        still uploaded its file or created its batch, as with a real provider), then answered."""
        entry = self._entry(path, {}, None)
        self.server.record(entry)
        query = dict(parse_qsl(self.path.partition("?")[2]))
        op, (status, payload) = self.server.batches.handle(self.command, path, query,
                                                           self.headers.get("Content-Type", ""), body)
        ids = {k: payload.get(k) for k in ("id", "input_file_id", "status", "filename")
               if isinstance(payload, dict) and payload.get(k) is not None}
        self.server.note(entry, op=op, status=status, **{f"reply_{k}": v for k, v in ids.items()})
        self.server.wait(self.server.latency_s + self.server.batches.op_latency.get(op, 0.0))
        if isinstance(payload, bytes):
            self._send_bytes(status, payload, "application/octet-stream", {})
        else:
            self._send(status, payload)
        self.server.note(entry, delivered=True)

    def _chat(self, path: str, body: bytes) -> None:
        request = _parse_json(body)
        self._answer(path, body, request, self.server.faults.take(_prompt_text(request)))

    def _answer(self, path: str, body: bytes, request: dict[str, Any], fault: Fault | None) -> None:
        entry = self._entry(path, request, fault)
        entry["in_flight"] = self.server.in_flight_now  # this request included: what the provider bears
        seq = self.server.record(entry)
        self.server.wait(self.server.latency_s + (fault.latency_s if fault else 0.0))
        if fault is not None and fault.drop:
            self.server.count_status("dropped")
            self.close_connection = True
            return
        if fault is not None and fault.status is not None:
            return self._fail(fault)
        status, payload = dispatch(self.command, path, body, generation=self.headers.get(GENERATION_HEADER))
        if status != 200:
            return self._send(status, payload)
        if isinstance(payload.get("id"), str):
            # The responder's id depends on the request only; a real provider's names one answer.
            payload["id"] = f"{payload['id']}-{seq}"
        payload = apply_to_payload(fault, payload)
        # An answer is generated (and billed) whether or not the client is still there to read it.
        self.server.note(entry, response_id=payload.get("id"), usage=payload.get("usage"))
        replaced = bad_body(fault, payload)
        extra = dict(fault.headers) if fault is not None else {}
        if replaced is None:
            self._send(status, payload, extra)
        else:
            request_id = payload.get("id")
            self._send_bytes(status, *replaced, {**extra, **({"x-request-id": request_id}
                                                             if isinstance(request_id, str) else {})})
        self.server.note(entry, delivered=True)

    def _fail(self, fault: Fault) -> None:
        status = fault.status or 500
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = _format_seconds(fault.retry_after)
        message = fault.message or f"injected fault {status}"
        self._send(status, error_body(message, status, "injected_fault"), headers)

    def _entry(self, path: str, request: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = headers.get("authorization")
        return {
            "time": time.time(),
            "method": self.command,
            "path": path,
            "model": request.get("model"),
            "prompt": _prompt_text(request),
            "max_tokens": request.get("max_tokens"),
            "generation": headers.get(GENERATION_HEADER.lower()),
            "headers": {k: v for k, v in headers.items() if k not in SECRET_HEADERS},
            "authorization_present": auth is not None,
            "authorization_sha256": _secret_digest(auth) if auth is not None else None,
            "fault": fault.to_dict() if fault else None,
        }

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        extra = dict(headers or {})
        if isinstance(payload.get("id"), str):
            extra["x-request-id"] = payload["id"]
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", extra)

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        if not self.path.startswith("/_"):
            self.server.count_status(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _apply_fault_request(srv: OfflineServer, body: Any) -> dict[str, Any]:
    """``POST /_faults``: a fault object, a list of them, or ``{"faults": [...], "latency_s": x}``."""
    if isinstance(body, dict) and ("faults" in body or "latency_s" in body):
        if "latency_s" in body:
            srv.latency_s = float(body["latency_s"])
        items = body.get("faults", [])
    else:
        items = body if isinstance(body, list) else [body]
    for item in items:
        srv.add_fault(Fault.from_dict(item))
    return {"ok": True, "pending_faults": srv.faults.pending(), "latency_s": srv.latency_s}


def _parse_json(body: bytes) -> dict[str, Any]:
    """Best-effort parse for logging and fault matching; ``dispatch`` does the strict check."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _prompt_text(request: dict[str, Any]) -> str:
    """The prompt for logging and fault matching; a malformed request has none (it gets a 400)."""
    try:
        return prompt_of(request)
    except DDError:
        return ""


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


@contextmanager
def serve(port: int = 0, latency_s: float = 0.0, host: str = "127.0.0.1") -> Iterator[OfflineServer]:
    """Run a server in a background thread for the duration of the ``with`` block."""
    srv = OfflineServer(port=port, latency_s=latency_s, host=host)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    """CLI: serve until SIGINT/SIGTERM; ``--port-file`` tells another process where we listen."""
    parser = argparse.ArgumentParser(description="Offline OpenAI-compatible server on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, default=None)
    parser.add_argument("--latency-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with serve(port=args.port, latency_s=args.latency_s) as srv:
        if args.port_file is not None:
            tmp = args.port_file.with_name(args.port_file.name + ".tmp")
            tmp.write_text(f"{srv.port}\n")
            tmp.replace(args.port_file)  # atomic: readers never see a half-written port
        print(f"offline server listening on {srv.base_url}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
