"""The offline provider answers per generation: replicates of one prompt differ, the in-process
provider and the loopback server agree, and the answers still satisfy the real parsers.
Also the server's bad-reply faults, set over HTTP as another process would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from daydreaming import parsers
from daydreaming.llm import GenerationSettings, LLMClient, ModelRoute, ProviderConfig
from daydreaming.offline.faults import BAD_BODIES
from daydreaming.offline.responder import respond
from daydreaming.offline.server import serve

DRAFT = 'Connect the concepts. Output one <essay-idea stage="i"> block per step.'
ESSAY = "Write the essay inside <essay></essay> tags."
EVALUATION = "Rate the essay. End with a line SCORE: X"
SETTINGS = GenerationSettings(max_tokens=400)


@pytest.fixture
def srv():
    with serve() as server:
        yield server


def client(base_url: str) -> LLMClient:
    route = ModelRoute(model_id="judge", model="offline/judge", provider="p")
    return LLMClient({"p": ProviderConfig(base_url=base_url)}, {"judge": route})


def test_replicates_of_one_prompt_get_different_answers_in_process():
    local = client("offline:")
    texts = {local.generate("judge", EVALUATION, SETTINGS, generation=f"evaluation/v_{i}").text for i in range(6)}
    assert len(texts) == 6
    scores = {parsers.parse("evaluation", "in_last_line", local.generate(
        "judge", EVALUATION, SETTINGS, generation=f"evaluation/v_{i}").text) for i in range(10)}
    assert len(scores) > 1  # a report's replicate statistics need scores that vary


def test_same_generation_same_answer_and_no_header_keeps_the_prompt_only_answer():
    local = client("offline:")
    first = local.generate("judge", EVALUATION, SETTINGS, generation="evaluation/v_1")
    again = local.generate("judge", EVALUATION, SETTINGS, generation="evaluation/v_1")
    assert (first.text, first.request_id) == (again.text, again.request_id)
    plain = local.generate("judge", EVALUATION, SETTINGS)
    body = respond({"model": "offline/judge", "messages": [{"role": "user", "content": EVALUATION}], "max_tokens": 400})
    assert plain.text == body["choices"][0]["message"]["content"].strip()
    assert plain.text != first.text


@pytest.mark.parametrize("generation", [None, "draft/d_1", "essay/e_2", "evaluation/v_3"])
def test_in_process_provider_matches_loopback_server(srv, generation):
    same = ("text", "finish_reason", "truncated", "usage", "model")
    for number, prompt in enumerate((DRAFT, ESSAY, EVALUATION), start=1):
        remote = client(srv.base_url).generate("judge", prompt, SETTINGS, generation=generation)
        local = client("offline:").generate("judge", prompt, SETTINGS, generation=generation)
        assert {f: getattr(local, f) for f in same} == {f: getattr(remote, f) for f in same}
        assert remote.request_id == f"{local.request_id}-{number}"  # the server numbers its answers
    assert [r["generation"] for r in srv.requests] == [generation] * 3


@pytest.mark.parametrize("i", range(8))
def test_answers_keyed_by_generation_satisfy_the_real_parsers(i):
    local = client("offline:")
    draft = local.generate("judge", DRAFT, SETTINGS, generation=f"draft/d_{i}").text
    assert parsers.parse("draft", "essay_idea_last", draft).strip()
    essay = local.generate("judge", ESSAY, SETTINGS, generation=f"essay/e_{i}").text
    assert "<essay>" in essay and "</essay>" in essay
    score = parsers.parse("evaluation", "in_last_line", local.generate(
        "judge", EVALUATION, SETTINGS, generation=f"evaluation/v_{i}").text)
    assert 0.0 <= float(score) <= 9.0


def http(method: str, url: str, body: object | None = None) -> tuple[int, bytes, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), response.headers.get("Content-Type")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type")


CHAT = {"model": "offline/demo", "messages": [{"role": "user", "content": "hello"}]}


def test_bad_body_faults_over_http(srv):
    root = srv.base_url.removesuffix("/v1")
    assert http("POST", f"{root}/_faults", {"faults": [{"body": b} for b in sorted(BAD_BODIES)]})[0] == 200
    replies = {name: http("POST", f"{srv.base_url}/chat/completions", CHAT) for name in sorted(BAD_BODIES)}
    assert {name: status for name, (status, _, _) in replies.items()} == {name: 200 for name in BAD_BODIES}
    blank, choices, malformed, not_completion, not_json, null = (replies[n] for n in sorted(BAD_BODIES))
    assert json.loads(blank[1])["choices"][0]["message"]["content"].strip() == ""
    assert json.loads(choices[1])["choices"] == [] and json.loads(choices[1])["usage"]["prompt_tokens"] == 1
    with pytest.raises(ValueError):
        json.loads(malformed[1])
    assert malformed[2] == "application/json"
    assert "choices" not in json.loads(not_completion[1])
    assert not_json[2] == "text/html" and not_json[1].startswith(b"<html>")
    assert json.loads(null[1])["choices"][0]["message"]["content"] is None
    assert http("POST", f"{srv.base_url}/chat/completions", CHAT)[0] == 200  # faults consumed
    assert [r["fault"]["body"] for r in srv.requests[:6]] == sorted(BAD_BODIES)


def test_unknown_bad_body_is_refused(srv):
    root = srv.base_url.removesuffix("/v1")
    status, body, _ = http("POST", f"{root}/_faults", {"body": "half_an_answer"})
    assert status == 400 and srv.faults.pending() == 0
