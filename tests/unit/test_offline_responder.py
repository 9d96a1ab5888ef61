"""The offline responder: deterministic, parser-friendly, honest about usage and truncation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.offline.responder import dispatch, respond

# The earlier system's parsers (parsers/earlier.py), restated so the demo's answers are checked against them.
ESSAY_IDEA = re.compile(r"<essay-idea(?:\s+[^>]*)?>\n([\s\S]*?)\n</essay-idea>")
ESSAY = re.compile(r"<essay>([\s\S]*?)</essay>", re.IGNORECASE)
SCORE_LINE = re.compile(r"^\s*SCORE:\s*[0-9](\.[0-9]+)?\s*$", re.IGNORECASE)
FIXTURE_TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "1_raw" / "templates"


def ask(prompt: str, model: str = "offline/demo", **extra) -> dict:
    return respond({"model": model, "messages": [{"role": "user", "content": prompt}], **extra})


def text_of(response: dict) -> str:
    return response["choices"][0]["message"]["content"]


def test_same_request_same_answer_and_different_prompts_differ():
    assert ask("Tell me about loops.") == ask("Tell me about loops.")
    assert text_of(ask("Tell me about loops.")) != text_of(ask("Tell me about critics."))
    assert text_of(ask("Same prompt.", model="offline/a")) != text_of(ask("Same prompt.", model="offline/b"))


def test_response_shape_and_id():
    response = ask("Hello there.")
    assert response["object"] == "chat.completion"
    assert response["id"].startswith("offline-")
    assert response["model"] == "offline/demo"
    choice = response["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"


def test_plain_prompt_gets_prose_with_an_echo_and_no_blocks():
    text = text_of(ask("Describe <b>the</b> loop in detail\nsecond line"))
    assert "Describe bthe/b loop in detail" in text
    assert "<" not in text and "SCORE" not in text
    assert len(text.split()) > 10


def test_usage_counts_whitespace_words():
    prompt = "one two  three\nfour"
    response = ask(prompt)
    usage = response["usage"]
    assert usage["prompt_tokens"] == 4
    assert usage["completion_tokens"] == len(text_of(response).split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_essay_idea_prompt_yields_a_parseable_stage_block():
    text = text_of(ask('Output one <essay-idea stage="i"> block per step.'))
    blocks = ESSAY_IDEA.findall(text)
    assert len(blocks) == 1 and blocks[0].strip()
    assert '<essay-idea stage="1">\n' in text


def test_essay_prompt_yields_an_essay_block():
    text = text_of(ask("Write the essay inside <essay></essay> tags."))
    match = ESSAY.search(text)
    assert match and match.group(1).strip()


def test_evaluation_prompt_ends_with_a_score_line():
    scores = set()
    for i in range(12):
        lines = text_of(ask(f"Essay {i}. End with SCORE: X")).splitlines()
        assert SCORE_LINE.match(lines[-1])
        scores.add(int(lines[-1].split(":")[1]))
    assert scores <= set(range(10)) and len(scores) > 1


def test_truncation_cuts_to_max_tokens_words_and_reports_length():
    full = text_of(ask("Write the essay inside <essay></essay> tags."))
    response = ask("Write the essay inside <essay></essay> tags.", max_tokens=5)
    text = text_of(response)
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] == 5
    assert len(text.split()) == 5 and full.startswith(text)


def test_max_tokens_at_least_answer_length_is_not_truncated():
    words = len(text_of(ask("Hello.")).split())
    response = ask("Hello.", max_tokens=words)
    assert response["choices"][0]["finish_reason"] == "stop"


def test_echo_model_returns_the_prompt():
    assert text_of(ask("  exactly\r\nthis  ", model="offline/echo")) == "  exactly\r\nthis  "


@pytest.mark.parametrize(
    "request_body, field",
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": 3}]}, "messages.content"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}, "max_tokens"),
    ],
)
def test_malformed_requests_raise_invalid_request(request_body, field):
    with pytest.raises(DDError) as info:
        respond(request_body)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"reason": "invalid_request", "field": field}


def test_dispatch_routes_like_an_openai_server():
    body = json.dumps({"model": "offline/demo", "messages": [{"role": "user", "content": "hi"}]}).encode()
    assert dispatch("POST", "/v1/chat/completions", body) == (200, ask("hi"))
    assert dispatch("GET", "/v1/models", b"")[0] == 200
    assert dispatch("POST", "/v1/chat/completions", b"not json")[0] == 400
    assert dispatch("POST", "/v1/chat/completions", b'{"model": "m"}')[0] == 400
    status, payload = dispatch("GET", "/v1/nothing", b"")
    assert status == 404 and payload["error"]["code"] == 404


def has_essay_idea(text: str) -> bool:
    return bool(ESSAY_IDEA.search(text))


def has_essay(text: str) -> bool:
    return bool(ESSAY.search(text))


def ends_with_score(text: str) -> bool:
    return bool(SCORE_LINE.match(text.splitlines()[-1]))


@pytest.mark.parametrize(
    "template, check",
    [
        ("draft/tagged-thread-v2.txt", has_essay_idea),
        ("draft/thinking-then-essay.txt", has_essay),
        ("evaluation/novelty-0-9.txt", ends_with_score),
    ],
)
def test_templates_get_answers_their_parsers_accept(template, check):
    assert check(text_of(ask((FIXTURE_TEMPLATES / template).read_text())))


@pytest.mark.shared
def test_real_templates_get_answers_their_parsers_accept(shared):
    templates = shared / "reference" / "daydreaming-1_raw" / "templates"
    for template, check in [
        ("draft/deliberate-rolling-thread-v3.txt", has_essay_idea),
        ("draft/creative-synthesis-v7.txt", has_essay),
        ("evaluation/daydreaming-verification-v2.txt", ends_with_score),
        ("evaluation/novelty.txt", ends_with_score),
    ]:
        assert check(text_of(ask((templates / template).read_text()))), template
