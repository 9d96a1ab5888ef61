"""What counts as an answer in a 200 body (the pure decoding; the HTTP side is in test_llm_client_replies)."""

from __future__ import annotations

import json

import pytest

from daydreaming.llm.reply import BadReply, read_answer


def body(**fields) -> bytes:
    data = {"id": "r-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "An answer."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    data.update(fields)
    return json.dumps(data).encode()


def message(content) -> bytes:
    return body(choices=[{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}])


def test_a_completion_is_an_answer():
    answer = read_answer(body())
    assert (answer.text, answer.finish_reason, answer.request_id) == ("An answer.", "stop", "r-1")
    assert answer.usage["total_tokens"] == 5


def test_content_parts_keep_their_text_parts_only():
    parts = [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Part one, "}, {"text": "two."}]
    assert read_answer(message(parts)).text == "Part one, two."


def test_odd_ids_usage_and_finish_reasons_do_not_refuse_an_answer():
    answer = read_answer(body(id=17, usage="n/a", choices=[{"message": {"content": "ok"}, "finish_reason": 3}]))
    assert (answer.text, answer.request_id, answer.usage, answer.finish_reason) == ("ok", None, {}, None)


@pytest.mark.parametrize("raw, error", [
    (b"{\"id\": \"r-1\", \"choi", "malformed_response"),
    (b"\xff\xfe", "malformed_response"),
    (b"[1, 2]", "malformed_response"),
    (b"{\"object\": \"list\"}", "malformed_response"),
    (body(choices=[{"text": "legacy completion"}]), "malformed_response"),
    (body(choices=[]), "empty_choices"),
    (json.dumps({"error": {"message": "upstream down"}}).encode(), "empty_choices"),
    (message(None), "empty_content"),
    (message(" \n"), "empty_content"),
    (message([{"type": "thinking", "thinking": "only thoughts"}]), "empty_content"),
])
def test_bodies_that_are_not_answers(raw, error):
    with pytest.raises(BadReply) as info:
        read_answer(raw)
    assert (info.value.error, info.value.billable, info.value.status, info.value.retryable) == (error, True, 200, True)
