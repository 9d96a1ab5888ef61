"""final_verdict: judge answers in every supported format, and the cases that must fail.

The judge answers under ``tests/fixtures/judge_outputs`` are the project's own, written in the
shapes real judges use (a ``Final Score`` heading with the value below, a rounded total then the
``SCORE`` marker, a bold fraction followed by a breakdown, a revised reasoning trace, ``SCORE:``
then the value on its own line). The real answers in ``../shared`` run under ``-m shared``.
"""

from __future__ import annotations

import csv
import pathlib

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.parsers import parse
from daydreaming.parsers.verdict import final_verdict

JUDGE_OUTPUTS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "judge_outputs"


def _expected(folder: pathlib.Path) -> list[dict[str, str]]:
    with (folder / "expected.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _failure(text: str, scale_max: float = 10.0) -> DDError:
    with pytest.raises(DDError) as excinfo:
        final_verdict(text, scale_max=scale_max)
    assert excinfo.value.code is Err.PARSER_FAILURE
    return excinfo.value


# ---- judge answers ----


@pytest.mark.parametrize("row", _expected(JUDGE_OUTPUTS), ids=lambda row: row["file"])
def test_judge_answer(row):
    text = (JUDGE_OUTPUTS / row["file"]).read_text(encoding="utf-8")
    expected = float(row["final_score"])
    assert final_verdict(text) == expected
    assert parse("evaluation", "final_verdict", text) == f"{expected}\n"


@pytest.mark.parametrize("row", _expected(JUDGE_OUTPUTS), ids=lambda row: row["file"])
def test_in_last_line_reads_only_a_marker_in_the_last_lines(row):
    """The older parser finds a verdict only as a bare ``SCORE: d`` in the last 3 lines."""
    text = (JUDGE_OUTPUTS / row["file"]).read_text(encoding="utf-8")
    if row["in_last_line"]:
        assert parse("evaluation", "in_last_line", text) == f"{float(row['in_last_line'])}\n"
    else:
        with pytest.raises(DDError) as excinfo:
            parse("evaluation", "in_last_line", text)
        assert excinfo.value.ctx["reason"] == "no_score_last_lines"


@pytest.mark.shared
def test_real_judge_answers(shared):
    """The real answers of earlier runs: final_verdict reads each, in_last_line only 076."""
    folder = shared / "reference" / "judge_outputs"
    rows = {row["file"]: float(row["final_score"]) for row in _expected(folder)}
    assert sorted(rows) == ["004.txt", "022.txt", "035.txt", "076.txt", "163.txt"]
    for name, expected in rows.items():
        text = (folder / name).read_text(encoding="utf-8")
        assert final_verdict(text) == expected, name
        assert parse("evaluation", "final_verdict", text) == f"{expected}\n", name
        if name == "076.txt":
            assert parse("evaluation", "in_last_line", text) == "7.0\n"
        else:
            with pytest.raises(DDError) as excinfo:
                parse("evaluation", "in_last_line", text)
            assert excinfo.value.ctx["reason"] == "no_score_last_lines", name


# ---- formats ----


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Reasoning.\nSCORE: 7", 7.0),
        ("Reasoning.\n**SCORE: 4/10**", 4.0),
        ("Reasoning.\nTotal Score: 7/10", 7.0),
        ("Reasoning.\n**SCORE:** 7", 7.0),
        ("Reasoning.\n## **Overall Score: 6.5/10**", 6.5),
        ("The final verdict is 8.", 8.0),
        ("Final Rating = 3 out of 10", 3.0),
        ("Final Score (0-10): 6", 6.0),
        ("Reasoning\nScore: 6", 6.0),  # a single bare line in another case is the verdict
        ("SCORE: 7 (solid but derivative)", 7.0),
        ("SCORE:\n\n**7**", 7.0),
    ],
)
def test_single_line_formats(text, expected):
    assert final_verdict(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("### Final Score\n**6/10**\nThe essay is fine.", 6.0),
        ("**Final Score**:  \n\n**4/10**  \nSummary line.", 4.0),
        ("# **Final Score**\n\n8 out of 10.", 8.0),
        ("> **Overall Score**\n> 5", 5.0),
    ],
)
def test_final_score_heading_with_value_on_a_later_line(text, expected):
    assert final_verdict(text) == expected


def test_per_part_scores_before_and_summary_after_the_verdict():
    text = (
        "### Core Concepts\n"
        "1. **Problem (1/1)**: present.\n"
        "- **Score**: 1/1 (clear)\n"
        "**Core Concepts**: 4/5\n"
        "**Connections**: 3/5\n\n"
        "**Total Score: 7/10**\n\n"
        "**Summary**: strong on concepts (4/5), weaker on connections (3/5).\n"
    )
    assert final_verdict(text) == 7.0


def test_rubric_score_lines_in_another_case_give_way_to_the_upper_case_marker():
    text = "Originality\nScore: 3\n\nCoherence\nScore: 4\n\nSCORE: 7\n\nOverall a decent piece."
    assert final_verdict(text) == 7.0


def test_rubric_score_lines_give_way_to_a_final_statement():
    assert final_verdict("Originality\nScore: 3\n\nFinal Score: 7/10") == 7.0


def test_bullet_score_lines_are_parts_not_verdicts():
    text = "- **Score**: 0.5 (partial)\n- **Score**: 2/2.\n\n### **SCORE: 5/10**\nBreakdown: 2.5/5 and 2.5/5."
    assert final_verdict(text) == 5.0


@pytest.mark.parametrize(
    "text",
    [
        "Total score: 4 + 3 = 7/10",
        "- **Total Score: 6.5/10** → Rounded to **7/10** for alignment\n\n**SCORE:** 7",
        "Final Score: 6.5 -> rounded up to 7\nSCORE: 7",
        "Final score: 13/20, rounded to 7/10",
    ],
)
def test_a_chain_counts_for_its_result(text):
    assert final_verdict(text) == 7.0


def test_statements_that_agree_are_one_verdict():
    assert final_verdict("Overall score: 7/10\n\nMore notes.\n\nFinal Score: 7\nSCORE: 7") == 7.0


@pytest.mark.parametrize(
    "text",
    [
        "<think>Total score: 9/10. Hmm, maybe 8.</think>\nFinal Score: 6/10",
        "Total score: 9/10 in my head\n</think>\n\nSCORE: 6",  # the opening tag was dropped
        "SCORE: 6\n<think>Final Score: 9/10, though the answer was cut",
        "<THINKING>\nSCORE: 2\n</thinking>\n**SCORE: 6**",
    ],
)
def test_reasoning_traces_are_ignored(text):
    assert final_verdict(text) == 6.0


# ---- fractions and scale ----


@pytest.mark.parametrize(
    "text, scale_max, expected",
    [
        ("SCORE: 7", 10, 7.0),
        ("SCORE: 7", 9, 7.0),  # a bare number is already on the template's scale
        ("SCORE: 4/5", 10, 8.0),
        ("SCORE: 4/5", 9, 7.2),
        ("SCORE: 5/10", 9, 4.5),
        ("SCORE: 7/9", 9, 7.0),
        ("SCORE: 7/9", 10, 7.777778),
        ("Final Score: 3 out of 4", 9, 6.75),
        ("Final Score: 9/9", 9, 9.0),
    ],
)
def test_fractions_are_normalised_to_the_scale(text, scale_max, expected):
    assert final_verdict(text, scale_max=scale_max) == pytest.approx(expected)


def test_registry_passes_scale_max():
    assert parse("evaluation", "final_verdict", "SCORE: 5/10") == "5.0\n"
    assert parse("evaluation", "final_verdict", "SCORE: 5/10", options={"scale_max": 9}) == "4.5\n"
    assert parse("evaluation", "final_verdict", "SCORE: 5/10", options={"scale_max": "9"}) == "4.5\n"


@pytest.mark.parametrize("scale_max", [0, -9, "nine", None, float("inf")])
def test_registry_refuses_a_bad_scale_max(scale_max):
    with pytest.raises(DDError) as excinfo:
        parse("evaluation", "final_verdict", "SCORE: 5", options={"scale_max": scale_max})
    assert excinfo.value.code is Err.INVALID_CONFIG
    assert excinfo.value.ctx["reason"] == "invalid_scale_max"


# ---- failures ----


def _values(err: DDError) -> set[float | None]:
    return {c["value"] for c in err.ctx["candidates"]}


@pytest.mark.parametrize(
    "text, values",
    [
        ("Final Score: 7/10\n\nOn reflection...\n\nFinal Score: 5/10", {7.0, 5.0}),
        ("Total Score: 7/10\n\nSCORE: 6", {7.0, 6.0}),
        ("SCORE: 7\n\nSummary.\n\nSCORE: 5", {7.0, 5.0}),
        ("Total Score: 6.5/10 → Rounded to 7/10\nSCORE: 6", {7.0, 6.0}),
    ],
)
def test_disagreeing_verdicts_are_ambiguous(text, values):
    err = _failure(text)
    assert err.ctx["reason"] == "ambiguous_verdict"
    assert _values(err) == values


@pytest.mark.parametrize(
    "text",
    [
        "**Core Concepts**: 4/5\n**Connections**: 3/5\n",
        "Originality\nScore: 3\n\nCoherence\nScore: 4",
        "- Score: 7\n- Score: 7",  # list items are per-part even when they agree
        "Total Score: 4 + 3",  # a sum never finished
        "I would give it 7/10 overall.",
        "A final score of 7 seems fair.",  # prose, not a statement
        "### Final Score\nSee the breakdown: 2/5 and 3/5.",
    ],
)
def test_per_part_scores_without_an_overall_verdict_are_ambiguous(text):
    err = _failure(text)
    assert err.ctx["reason"] == "ambiguous_verdict"
    kinds = {c["kind"] for c in err.ctx["candidates"]}
    assert kinds and kinds <= {"part", "score_other_case"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "A thoughtful essay with 3 concepts in 2 sections.",
        "### Final Score\n\nThe essay is weak.",
        "<think>SCORE: 7</think>\nThe essay is great.",
        "SCORE: pending",
    ],
)
def test_absent_verdict_is_no_verdict(text):
    err = _failure(text)
    assert err.ctx["reason"] == "no_verdict"
    assert err.ctx["candidates"] == []


@pytest.mark.parametrize(
    "text, scale_max",
    [("SCORE: 12", 10), ("SCORE: 10", 9), ("Final Score: 11/10", 10), ("SCORE: -1", 10)],
)
def test_out_of_range_verdict(text, scale_max):
    err = _failure(text, scale_max)
    assert err.ctx["reason"] == "out_of_range"
    assert err.ctx["scale_max"] == scale_max


def test_candidates_keep_the_raw_line_numbers():
    err = _failure("<think>\nSCORE: 1\n</think>\nSCORE: 7\n\nSCORE: 5")
    assert [(c["line"], c["value"]) for c in err.ctx["candidates"]] == [(4, 7.0), (6, 5.0)]


def test_registry_keeps_the_verdict_reason():
    with pytest.raises(DDError) as excinfo:
        parse("evaluation", "final_verdict", "SCORE: 7\nSCORE: 5")
    assert excinfo.value.code is Err.PARSER_FAILURE
    assert excinfo.value.ctx["reason"] == "ambiguous_verdict"
