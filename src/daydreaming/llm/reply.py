"""Is a provider's 200 body an answer? Decoding of a chat completion body, strict where it matters.

A 200 is not proof of an answer: gateways return HTML pages, truncated JSON, ``choices: []``
(OpenRouter reports upstream failures so) or ``content: null``. Storing any of those would keep
an empty "answer" forever, and the SDK either returns them silently or fails with an uncoded
``JSONDecodeError``. So the client reads the raw body itself and this module decides; a body
that is not an answer raises :class:`BadReply`, which the retry loop treats like a 5xx and
reports as *billable* (the provider may have charged for it), with the usage it carried.

Only what the pipeline uses is checked strictly (one choice with text); everything else
(ids, usage, finish reasons) is read leniently, because refusing a real answer over an odd
usage field would buy it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .retry import AttemptFailed

MALFORMED = "malformed_response"
EMPTY_CHOICES = "empty_choices"
EMPTY_CONTENT = "empty_content"


class BadReply(AttemptFailed):
    """A 200 whose body is not a usable answer: counted as possibly billed, and retried unless
    a retry cannot help."""

    def __init__(self, error: str, *, usage: dict[str, Any] | None = None, message: str = "",
                 request_id: str | None = None, **final: Any) -> None:
        super().__init__(error, message, status=200, billable=True, usage=usage, request_id=request_id, **final)


def _spent_before_answering(shown: dict[str, Any]) -> BadReply:
    """Blank content cut off at max_tokens (a reasoning model can spend them all before the
    answer): the same request would end the same way, so asking again only pays again."""
    return BadReply(EMPTY_CONTENT, **shown, retryable=False, reason="empty_truncated_answer",
                    fix="raise the stage's max_tokens: the model used all of them before writing any answer")


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    content: str | list[Any] | None = None

    def text(self) -> str | None:
        """The content as text; content parts (some providers send a list, e.g. thinking then
        text) contribute their ``text`` parts only."""
        if not isinstance(self.content, list):
            return self.content
        texts = [part.get("text") for part in self.content
                 if isinstance(part, dict) and part.get("type", "text") == "text"]
        return "".join(t for t in texts if isinstance(t, str))


class _Choice(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: _Message
    finish_reason: Any = None


class _Completion(BaseModel):
    """The part of the chat.completion contract the pipeline relies on."""

    model_config = ConfigDict(extra="allow")

    id: Any = None
    choices: list[_Choice]
    usage: Any = None


@dataclass(frozen=True)
class Answer:
    """The usable part of a chat completion: its text (non-blank), finish reason, usage, id."""

    text: str
    finish_reason: str | None
    usage: dict[str, Any]
    request_id: str | None


def _error_message(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict) and error.get("message") is not None:
        return str(error["message"])
    return ""


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_answer(body: bytes) -> Answer:
    """The answer in a 200 body, or :class:`BadReply` saying why there is none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadReply(MALFORMED) from None
    if not isinstance(data, dict):
        raise BadReply(MALFORMED)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    request_id = _text_or_none(data.get("id"))
    shown: dict[str, Any] = {"usage": usage, "message": _error_message(data), "request_id": request_id}
    choices = data.get("choices")
    if choices == [] or (choices is None and "error" in data):
        raise BadReply(EMPTY_CHOICES, **shown)
    try:
        completion = _Completion.model_validate(data)
    except ValidationError:
        raise BadReply(MALFORMED, **shown) from None
    choice = completion.choices[0]
    text = choice.message.text()
    if text is None or not text.strip():
        raise _spent_before_answering(shown) if choice.finish_reason == "length" else BadReply(EMPTY_CONTENT, **shown)
    return Answer(text=text, finish_reason=_text_or_none(choice.finish_reason), usage=usage or {},
                  request_id=request_id)
