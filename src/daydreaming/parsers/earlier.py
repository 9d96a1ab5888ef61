"""The earlier system's parsers (its draft parsers and ``in_last_line``), with its exact semantics.

Why a faithful copy, quirks included: cohorts produced by the Dagster pipeline must re-parse to
the same ``parsed.txt``, and scores from both systems are compared side by side. The only change
is how failure is reported: the earlier system raised ``ValueError`` that its registry turned
into ``None``; here every failure is ``DDError(PARSER_FAILURE, {"reason": <reason code>, ...})``.

Functions return the parsed value (text for drafts, a float score for ``in_last_line``); the
registry in ``__init__`` turns a score into the earlier system's ``parsed.txt`` line.
"""

from __future__ import annotations

import re

from ..errors import DDError, Err

# ---- draft parsers ----

# An <essay-idea ...> block whose tags sit on their own lines; group 1 is the body, verbatim.
_ESSAY_IDEA_BLOCK = re.compile(r"<essay-idea(?:\s+[^>]*)?>\n([\s\S]*?)\n</essay-idea>")
# The numeric stage="N" attribute of an <essay-idea> opening tag; group 1 is N.
_ESSAY_IDEA_STAGE = re.compile(r'<essay-idea[^>]*stage="(\d+)"')
# The first <essay>...</essay> block, any letter case; group 1 is the body.
_ESSAY_BLOCK = re.compile(r"<essay>([\s\S]*?)</essay>", re.IGNORECASE)
# A <thinking ...>...</thinking> section, any letter case (a model's scratchpad, not the answer).
_THINKING_BLOCK = re.compile(r"<thinking\b[^>]*>([\s\S]*?)</thinking>", re.IGNORECASE)

_ESSAY_OPEN_TAG = "<essay>"


def _failure(reason: str, **ctx: object) -> DDError:
    return DDError(Err.PARSER_FAILURE, {"reason": reason, **ctx})


def essay_idea_last(text: str) -> str:
    """The body of the highest-``stage`` ``<essay-idea>`` block (the last one on ties).

    Without any ``stage`` attribute, the last block. Rolling-thread templates emit one block per
    step, so the highest stage is the finished idea. The body is returned unstripped.
    """
    matches = list(_ESSAY_IDEA_BLOCK.finditer(text))
    if not matches:
        raise _failure("missing_essay_idea_block")
    staged: list[tuple[int | None, str]] = []
    for match in matches:
        # The earlier system looks for the attribute from the start of the opening tag's line to the end of
        # the block; kept as is so odd layouts pick the same block.
        line_start = text.rfind("\n", 0, match.start()) + 1
        stage_match = _ESSAY_IDEA_STAGE.search(text[line_start : match.end()])
        staged.append((int(stage_match.group(1)) if stage_match else None, match.group(1)))
    stages = [stage for stage, _ in staged if stage is not None]
    if not stages:
        return staged[-1][1]
    best = max(stages)
    return [body for stage, body in staged if stage == best][-1]


def essay_block(text: str) -> str:
    """The first ``<essay>`` block, stripped; with no closing tag, everything after ``<essay>``."""
    match = _ESSAY_BLOCK.search(text)
    if match:
        return match.group(1).strip()
    start = text.lower().find(_ESSAY_OPEN_TAG)
    if start != -1:
        return text[start + len(_ESSAY_OPEN_TAG) :].strip()
    raise _failure("missing_essay_block")


def essay_block_lenient(text: str) -> str:
    """``essay_block`` after dropping ``<thinking>`` sections; without an essay tag, the whole
    (sanitized, stripped) answer, because some models answer without the tags."""
    sanitized = _THINKING_BLOCK.sub("", text) if "<thinking" in text.lower() else text
    try:
        return essay_block(sanitized)
    except DDError as err:
        if err.ctx.get("reason") == "missing_essay_block":
            return sanitized.strip()
        raise


# ---- evaluation parser in_last_line ----

IN_LAST_LINE_RANGE = (0.0, 9.0)
_LAST_LINES = 3

# Pass 1: a whole line that is only "SCORE: d" or "SCORE: d.ddd" (a single digit before the point).
_STRICT_SCORE_LINE = re.compile(r"^\s*SCORE:\s*[0-9](\.[0-9]+)?\s*$", re.IGNORECASE)
# The number after "SCORE:" on a line pass 1 accepted; group 1 is the number.
_STRICT_SCORE_VALUE = re.compile(r"SCORE:\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
# Pass 2 header: "Score", "Final Score" or "Total Score", then ":" or whitespace.
_HEADER = r"(?:Final\s+|Total\s+)?(?:SCORE|Score)(?::\s*|\s+)[\n\r\s]*"
# Pass 2a: three single digits after the header ("Score: 456", "Score: 4, 5, 6"); group 1.
_THREE_DIGIT = re.compile(_HEADER + r"(\d(\,?\s?)\d(\,?\s?)\d)", re.IGNORECASE)
# Pass 2b: one number after the header, followed by whitespace or the end ("Total Score: 6.5").
_STANDARD = re.compile(_HEADER + r"(-?\d+(?:\.\d+)?)(?:\s|$)", re.IGNORECASE)


def _clean(line: str) -> str:
    """The earlier system drops every ``*`` and ``#`` (markdown bold and headings) before matching."""
    return line.replace("*", "").replace("#", "")


def _three_digit_mean(line: str) -> float | None:
    match = _THREE_DIGIT.search(line)
    if not match:
        return None
    digits = match.group(1).replace(",", "").replace(" ", "")
    if len(digits) != 3:  # a tab or other non-space whitespace between the digits
        raise _failure("invalid_three_digit_score", raw_score=match.group(1))
    return sum(float(d) for d in digits) / 3


def _standard(line: str) -> float | None:
    match = _STANDARD.search(line)
    return float(match.group(1)) if match else None


def _in_range(score: float) -> float:
    low, high = IN_LAST_LINE_RANGE
    if not low <= score <= high:
        raise _failure("out_of_range", score=score, range=[low, high])
    return score


def in_last_line_score(text: str) -> float:
    """The score stated in the last 3 non-empty lines, the earlier system's way.

    Pass 1 takes the first of those lines that is exactly ``SCORE: d(.d+)``; pass 2 takes, line
    by line, a three-digit mean or else a standard number after a score header. Quirk kept: the
    two are joined with ``or``, so a three-digit mean of 0.0 falls through to the standard form.
    """
    if not text or not text.strip():
        raise _failure("empty_response")
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()][-_LAST_LINES:]
    cleaned = [_clean(line) for line in lines]
    for line in cleaned:
        if _STRICT_SCORE_LINE.match(line):
            match = _STRICT_SCORE_VALUE.search(line)
            if match:
                return _in_range(float(match.group(1)))
    for line in cleaned:
        score = _three_digit_mean(line) or _standard(line)
        if score is not None:
            return _in_range(score)
    raise _failure("no_score_last_lines", last_lines=lines)
