"""The loopback server's control surface, as another process (a Snakemake run) would use it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.offline.server import serve


def http(method: str, url: str, body: object | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def chat(base: str, prompt: str, headers: dict | None = None) -> tuple[int, dict]:
    body = {"model": "offline/demo", "messages": [{"role": "user", "content": prompt}]}
    return http("POST", f"{base}/v1/chat/completions", body, headers)


def test_faults_stats_and_reset_over_http():
    with serve() as srv:
        root = srv.base_url.removesuffix("/v1")
        assert http("POST", f"{root}/_faults", {"faults": [{"status": 503}], "latency_s": 0.0})[0] == 200
        assert http("POST", f"{root}/_faults", [{"status": 500, "match": "special", "times": 1}])[0] == 200
        assert chat(root, "special prompt")[0] == 500
        assert chat(root, "plain")[0] == 503
        assert chat(root, "plain")[0] == 200
        status, stats = http("GET", f"{root}/_stats")
        assert status == 200
        assert stats["request_count"] == 3 and stats["by_status"] == {"500": 1, "503": 1, "200": 1}
        assert stats["pending_faults"] == 0
        assert len(http("GET", f"{root}/_requests")[1]["requests"]) == 3
        assert http("POST", f"{root}/_reset")[0] == 200
        assert srv.request_count == 0 and http("GET", f"{root}/_stats")[1]["request_count"] == 0


def test_unknown_fault_fields_are_refused():
    with serve() as srv:
        root = srv.base_url.removesuffix("/v1")
        assert http("POST", f"{root}/_faults", {"statsu": 500})[0] == 400
        with pytest.raises(DDError) as info:
            srv.add_fault(statsu=500)
        assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["fields"] == ["statsu"]


def test_authorization_is_recorded_as_presence_and_digest_only():
    with serve() as srv:
        root = srv.base_url.removesuffix("/v1")
        chat(root, "a", {"Authorization": "Bearer sk-raw-secret"})
        chat(root, "b")
        with_key, without_key = srv.requests
        assert with_key["authorization_present"] and len(with_key["authorization_sha256"]) == 64
        assert not without_key["authorization_present"] and without_key["authorization_sha256"] is None
        assert "sk-raw-secret" not in json.dumps(srv.requests)


def test_global_latency_applies_to_every_request():
    with serve(latency_s=0.2) as srv:
        started = time.monotonic()
        chat(srv.base_url.removesuffix("/v1"), "slow")
        assert time.monotonic() - started >= 0.19


def test_cli_writes_port_file_and_stops_on_sigterm(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "daydreaming.offline.server", "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        port = int(port_file.read_text())
        assert chat(f"http://127.0.0.1:{port}", "hello")[0] == 200
        assert http("GET", f"http://127.0.0.1:{port}/_stats")[1]["request_count"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
