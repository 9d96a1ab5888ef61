"""A real run against a provider whose 200s are not answers: the job fails coded, naming the
provider's base_url, and nothing empty is stored as a paid answer."""

from __future__ import annotations

import pytest

from .project import Project


@pytest.mark.parametrize("body, error", [("malformed_json", "malformed_response"), ("null_content", "empty_content")])
def test_a_reply_that_is_not_an_answer_is_never_stored(tmp_path, llm_server, body, error):
    project = Project.create(tmp_path, llm_server.base_url)  # max_retries: 0, one draft
    llm_server.add_fault(body=body)
    result = project.snakemake()
    assert result.returncode != 0
    found = [ctx for code, ctx in result.errors() if code == "IO_ERROR" and ctx.get("error") == error]
    assert found, result.output
    assert (found[0]["reason"], found[0]["base_url"], found[0]["attempts"]) == (
        "provider_unavailable", llm_server.base_url, 1)
    draft = project.gen_ids("draft")[0]
    assert not project.paths.raw_path("draft", draft).exists()
    assert not project.paths.raw_metadata_path("draft", draft).exists()
    assert llm_server.request_count == 1

    result = project.snakemake()  # the provider answers again: the draft is bought once more, then stored
    assert result.returncode == 0, result.output
    assert project.paths.raw_path("draft", draft).read_text().strip()
