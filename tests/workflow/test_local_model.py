"""A real model, offline: a 1-draft cohort against a local llama.cpp server (README: "A real
model, offline"). Needs ``DAYDREAMING_LOCAL_LLM_URL`` (e.g. ``http://127.0.0.1:8080/v1``);
without it the test is skipped, or fails when ``CI_LOCAL_MODEL=1`` says the server must be there.
CI without the server deselects it: ``python -m pytest -m "not local_model"``.
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from daydreaming import paths as P

from .llm_helpers import drafts_cohort, raw_meta
from .project import Project

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

URL_ENV = "DAYDREAMING_LOCAL_LLM_URL"


@pytest.fixture
def local_llm_url() -> str:
    url = os.environ.get(URL_ENV, "").rstrip("/")
    if not url:
        message = f"${URL_ENV} is not set (the base_url of a local OpenAI-compatible server)"
        if os.environ.get("CI_LOCAL_MODEL") == "1":
            pytest.fail(f"CI_LOCAL_MODEL=1 but {message}")
        pytest.skip(message)
    return url


def test_one_draft_from_a_real_local_model(tmp_path, local_llm_url):
    with urllib.request.urlopen(f"{local_llm_url}/models", timeout=30) as response:
        served = json.load(response)["data"][0]["id"]
    project = Project.create(tmp_path, None)
    csv = project.paths.data_root / "1_raw" / "llm_models.csv"
    csv.write_text(csv.read_text() + f"smollm2,{served},local,SmolLM2 135M (llama.cpp),local\n")
    (draft,) = drafts_cohort(project, 1)
    membership = project.paths.membership_csv("many")
    membership.write_text(membership.read_text().replace(",writer,", ",smollm2,"))
    project.config["llm"]["providers"]["local"] = {"base_url": local_llm_url, "max_retries": 2, "timeout_s": 300}
    project.config["stages"]["draft"].update({"max_tokens": 128, "min_lines": 0})
    project.save_config()

    result = project.snakemake("--cores", "2", timeout=900)
    meta = raw_meta(project, "draft", draft)
    assert meta["provider"] == "local" and meta["model"] == served
    assert meta["usage"]["completion_tokens"] > 0 and meta["finish_reason"] in ("stop", "length")
    assert project.paths.raw_path("draft", draft).read_text().strip()
    parsed = json.loads(project.paths.parsed_metadata_path("draft", draft).read_text())
    # A 135M model may well run out of tokens: then the parse refuses it, as for any provider.
    if meta["truncated"]:
        assert result.returncode != 0 and parsed["error"]["reason"] == "truncated_raw"
    else:
        assert result.returncode == 0, result.output
        assert parsed["success"] is True and project.paths.gen_file("draft", draft, P.PARSED).exists()
