"""The earlier system's parsers and the registry: its test vectors and quirks."""

from __future__ import annotations

import math

import pytest

from daydreaming import parsers
from daydreaming.errors import DDError, Err
from daydreaming.parsers import effective_parser_name, list_parsers, parse
from daydreaming.parsers.earlier import essay_block, essay_block_lenient, essay_idea_last


def _reason(excinfo: pytest.ExceptionInfo[DDError]) -> str:
    assert excinfo.value.code is Err.PARSER_FAILURE
    return excinfo.value.ctx["reason"]


# ---- registry ----


@pytest.mark.parametrize(
    "stage, names",
    [
        ("draft", ["essay_block", "essay_block_lenient", "essay_idea_last", "identity"]),
        ("essay", ["identity"]),
        ("evaluation", ["final_verdict", "identity", "in_last_line"]),
    ],
)
def test_registered_names(stage, names):
    assert list_parsers(stage) == names


@pytest.mark.parametrize("stage", ["draft", "essay", "evaluation"])
def test_identity_returns_text_unchanged(stage):
    raw = "  line one\n\n<essay>x</essay>\nSCORE: 7  \n"
    assert parse(stage, "identity", raw) == raw


@pytest.mark.parametrize(
    "stage, name", [("draft", "nope"), ("essay", "essay_block"), ("draft", "final_verdict"), ("essay", "in_last_line")]
)
def test_unknown_parser_is_missing_parser(stage, name):
    with pytest.raises(DDError) as excinfo:
        parse(stage, name, "text")
    assert _reason(excinfo) == "missing_parser"
    assert excinfo.value.ctx["stage"] == stage
    assert excinfo.value.ctx["parser_name"] == name


def test_unknown_stage_is_invalid_config():
    with pytest.raises(DDError) as excinfo:
        parse("review", "identity", "text")
    assert excinfo.value.code is Err.INVALID_CONFIG
    assert excinfo.value.ctx["reason"] == "unsupported_stage"


@pytest.mark.parametrize("name", ["", "   ", None])
def test_blank_parser_name_is_refused_by_parse(name):
    with pytest.raises(DDError) as excinfo:
        parse("essay", name, "text")
    assert excinfo.value.code is Err.INVALID_CONFIG
    assert excinfo.value.ctx["reason"] == "missing_parser_name"


@pytest.mark.parametrize("value", [None, "", "   ", float("nan"), math.nan, "nan", "NaN", "<NA>"])
def test_effective_parser_name_blank_means_identity(value):
    assert effective_parser_name(value) == "identity"


def test_effective_parser_name_keeps_a_named_parser():
    assert effective_parser_name("  essay_block_lenient ") == "essay_block_lenient"


def test_registry_strips_the_parser_name():
    assert parse("evaluation", " in_last_line ", "x\nSCORE: 3") == "3.0\n"


def test_unknown_option_is_refused():
    with pytest.raises(DDError) as excinfo:
        parse("evaluation", "in_last_line", "SCORE: 3", options={"scalemax": 9})
    assert excinfo.value.code is Err.INVALID_CONFIG
    assert excinfo.value.ctx["reason"] == "unknown_parser_option"
    assert excinfo.value.ctx["options"] == ["scalemax"]


def test_non_numeric_score_is_missing_numeric_score(monkeypatch):
    # The registry entry looks the score function up at call time; a stub returning no number
    # stands for a parser that found something that is not a score.
    monkeypatch.setattr(parsers, "in_last_line_score", lambda text: None)
    with pytest.raises(DDError) as excinfo:
        parse("evaluation", "in_last_line", "SCORE: 7")
    assert _reason(excinfo) == "missing_numeric_score"


# ---- essay_idea_last ----


def test_essay_idea_highest_stage_wins():
    content = (
        "Some preface\n"
        '<essay-idea stage="1">\nFirst idea paragraph.\n</essay-idea>\n\n'
        "Interleaving text\n"
        '<essay-idea stage="2">\nSecond idea paragraph (final).\n</essay-idea>\n'
    )
    assert parse("draft", "essay_idea_last", content) == "Second idea paragraph (final)."


def test_essay_idea_highest_stage_wins_even_when_not_last():
    content = (
        '<essay-idea stage="3">\nStage three.\n</essay-idea>\n'
        '<essay-idea stage="2">\nStage two.\n</essay-idea>\n'
        "<essay-idea>\nUnstaged last.\n</essay-idea>\n"
    )
    assert essay_idea_last(content) == "Stage three."


def test_essay_idea_ties_take_the_last():
    content = (
        '<essay-idea stage="2">\nfirst two\n</essay-idea>\n'
        '<essay-idea stage="2">\nsecond two\n</essay-idea>\n'
        '<essay-idea stage="1">\none\n</essay-idea>\n'
    )
    assert essay_idea_last(content) == "second two"


def test_essay_idea_falls_back_to_last_block_without_stages():
    content = (
        "<essay-idea>\nStage 1 idea paragraph.\n</essay-idea>\n\n"
        "<essay-idea>\nStage 2 idea paragraph.\n</essay-idea>\n"
    )
    assert essay_idea_last(content) == "Stage 2 idea paragraph."


def test_essay_idea_preserves_inner_newlines_verbatim():
    content = '<essay-idea stage="3">\nLine one.\n\nLine three after blank line.\n</essay-idea>\n'
    assert essay_idea_last(content) == "Line one.\n\nLine three after blank line."


def test_essay_idea_body_is_not_stripped():
    assert essay_idea_last("<essay-idea>\n  indented  \n</essay-idea>") == "  indented  "


@pytest.mark.parametrize(
    "content",
    [
        "No tags here.\n<thinking>but thinking exists</thinking>\n",
        "<essay-idea>inline body</essay-idea>",  # tags must sit on their own lines
        "<essay-idea>\nnever closed\n",
    ],
)
def test_essay_idea_raises_without_a_block(content):
    with pytest.raises(DDError) as excinfo:
        parse("draft", "essay_idea_last", content)
    assert _reason(excinfo) == "missing_essay_idea_block"


# ---- essay_block / essay_block_lenient ----


def test_essay_block_takes_first_block_stripped():
    raw = "intro\n<essay>\n  First essay.  \n</essay>\n<essay>Second</essay>"
    assert parse("draft", "essay_block", raw) == "First essay."


def test_essay_block_tags_are_case_insensitive():
    assert essay_block("<ESSAY> Body </Essay>") == "Body"


def test_essay_block_missing_closing_tag_runs_to_end():
    assert essay_block("preface <essay>\nBody without end.\n  ") == "Body without end."


def test_essay_block_strict_needs_tags():
    with pytest.raises(DDError) as excinfo:
        parse("draft", "essay_block", "Line A\nLine B\nLine C\n")
    assert _reason(excinfo) == "missing_essay_block"


def test_lenient_passes_untagged_text_stripped():
    assert parse("draft", "essay_block_lenient", "\n Line A\nLine B\n") == "Line A\nLine B"


def test_lenient_strips_thinking_when_no_tags():
    raw = "<thinking>reasoning</thinking>\nFirst line of answer.\nSecond line."
    assert essay_block_lenient(raw) == "First line of answer.\nSecond line."


def test_lenient_drops_thinking_before_block_extraction():
    raw = "<Thinking mode='x'>chain <essay>draft</essay></THINKING>\n<essay>\nFinal answer\n</essay>\n"
    assert essay_block_lenient(raw) == "Final answer"


# ---- in_last_line ----


@pytest.mark.parametrize(
    "response, expected",
    [
        ("REASONING: solid\nSCORE: 7", "7.0\n"),
        ("something\nSCORE: 4.5", "4.5\n"),
        ("notes\nSCORE: 9", "9.0\n"),
        ("bullet\nSCORE: 0", "0.0\n"),
        ("Reasoning paragraph.\n\n**Final thoughts.**\n\n**SCORE: 8**\n", "8.0\n"),
        ("Analysis line\nScore: 456", "5.0\n"),
        ("Reasoning\nTotal Score: 6.5", "6.5\n"),
        ("Sample one.\nGood work.\nSCORE: 8", "8.0\n"),
        ("Sample two.\n\nSCORE: 6.5\n", "6.5\n"),
        ("## Heading\nText\n### SCORE: 7 ###", "7.0\n"),
        ("score: 3", "3.0\n"),  # pass 1 ignores case
        ("Score: 4, 5, 6", "5.0\n"),
        ("SCORE: 100", f"{1 / 3}\n"),  # three digits: their mean, even here
        ("Final Score: 12.5 points\nSCORE: 9.0", "9.0\n"),  # pass 1 first, in any of the 3 lines
        ("SCORE: 7\nsummary one\nsummary two", "7.0\n"),
    ],
)
def test_in_last_line_vectors(response, expected):
    assert parse("evaluation", "in_last_line", response) == expected


def test_in_last_line_pass_one_beats_an_earlier_standard_line():
    # Pass 2 would read 6 from the first line; pass 1 goes over all 3 lines first.
    assert parse("evaluation", "in_last_line", "Total Score: 6\nnote\nSCORE: 7") == "7.0\n"


def test_in_last_line_pass_two_takes_the_first_line_that_matches():
    assert parse("evaluation", "in_last_line", "Total Score: 6\nScore: 5 overall") == "6.0\n"


@pytest.mark.parametrize(
    "response, reason",
    [
        ("Thoughts\nSCORE: 12", "out_of_range"),
        ("Thoughts\nSCORE: 9.5", "out_of_range"),
        ("Thoughts\nScore: -1", "out_of_range"),
        ("", "empty_response"),
        ("   \n  ", "empty_response"),
        ("Reasoning only", "no_score_last_lines"),
        ("This is just some text without any score.", "no_score_last_lines"),
        ("SCORE: 7\none\ntwo\nthree", "no_score_last_lines"),  # only the last 3 non-empty lines
        ("Reasoning\nSCORE: 7/10", "no_score_last_lines"),  # fractions unsupported
        ("Reasoning\nSCORE: 7.", "no_score_last_lines"),  # number must end the token
        ("Final Score:\n\n7/10", "no_score_last_lines"),  # value on a later line, not itself a match
        ("Reasoning\nScore: 0,0,0", "no_score_last_lines"),  # mean 0.0 falls through the `or`
        ("Reasoning\nScore: 4\t5\t6", "invalid_three_digit_score"),
    ],
)
def test_in_last_line_failures(response, reason):
    with pytest.raises(DDError) as excinfo:
        parse("evaluation", "in_last_line", response)
    assert _reason(excinfo) == reason
