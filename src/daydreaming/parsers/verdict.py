"""``final_verdict``: the FINAL score an LLM judge gave, recovered from a free-form answer.

Why: the earlier system's ``in_last_line`` reads a bare ``SCORE: d`` in the last 3 lines, and real judges
(``shared/reference/judge_outputs``) write ``**SCORE: 4/10**``, ``Total Score: 7/10``, a
``Final Score`` heading with the number on the next line, per-part scores before the verdict and
a summary after it. A wrong number silently stored is worse than a failure, so this parser only
answers when the text states one verdict, and otherwise raises ``PARSER_FAILURE`` with
``reason`` ``ambiguous_verdict`` / ``no_verdict`` / ``out_of_range`` and the ``candidates``.

How:
1. Reasoning traces are dropped: ``<think>``/``<thinking>`` blocks; a lone closing tag drops all
   before it, a lone opening tag (truncated answer) all after it. Traces hold drafts such as
   ``Total score: 4 + 3 = 7/10`` that the answer may revise.
2. Each line loses markdown (``*``, ``__``, backticks, leading ``#``/``>``); list items are noted.
3. Values are ``x``, ``x/y`` or ``x out of y``; a fraction is put on the template's scale
   (``x/y * scale_max``), a bare number is taken as already on it. A statement's value may be a
   chain: ``6.5/10 -> Rounded to 7/10`` and ``4 + 3 = 7/10`` count for their result, a sum with
   no result counts for nothing.

Precedence (each candidate is one line; "agree" means equal after normalisation):
1. FINAL: ``Final|Overall|Total Score|Rating|Grade|Verdict`` + ``:``/``=``/``is`` + value on a
   line (list items included), or that label alone on a line and a value alone on the next
   non-empty line. All FINAL statements must agree, and so must any upper-case SCORE line.
2. else SCORE: a line (not a list item) that is only ``SCORE: value`` (a trailing parenthesis
   allowed), or ``SCORE:`` alone then a value line. Upper-case ``SCORE`` is the marker the
   templates ask for: all such lines must agree. Other-case lines (``Score: 3``) count only when
   there is no upper-case one and they all agree; when they disagree they are a per-part rubric.
3. else only per-part mentions (``Core Concepts: 4/5``, ``- Score: 1/1``) -> ``ambiguous_verdict``:
   parts are never summed or picked. Nothing score-like at all -> ``no_verdict``.
4. The verdict must lie in ``[0, scale_max]``, else ``out_of_range``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import DDError, Err

Kind = Literal["final", "score", "score_other_case", "part"]

# A value: "7", "6.5", "7/10", "7 out of 10"; group 1 numerator, group 2 denominator (optional).
_VALUE = r"(-?\d+(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))?"
# The words of an explicit final statement: "Final Score", "overall rating", "Total Verdict".
_FINAL_LABEL = r"(?:final|overall|total)\s+(?:score|rating|grade|verdict)"
# A parenthesis after a label or value: "Total Score (0-10): 7", "SCORE: 7 (strong)".
_PAREN = r"(?:\s*\([^)]*\))?"
# "rounded to", "rounded up to", "(rounded down to" inside a chain.
_ROUNDED = r"\(?\s*rounded\s+(?:up\s+|down\s+)?to\s*"

# A final statement with its value on the same line: "Total Score: 7/10", "final score is 7".
_FINAL_STATEMENT = re.compile(rf"\b{_FINAL_LABEL}\b{_PAREN}\s*(?:[:=\u2013\u2014]|\bis\b)\s*{_VALUE}", re.I)
# A line that is only a final label, its value on the next line: "Final Score", "Final Score:".
_FINAL_HEADING = re.compile(rf"^{_FINAL_LABEL}{_PAREN}\s*:?\s*$", re.I)
# A line that is only the verdict marker: "SCORE: 7", "Score = 5/10 (fair)."; group 1 the label.
_SCORE_LINE = re.compile(rf"^(score)\s*[:=]\s*{_VALUE}{_PAREN}\s*\.?$", re.I)
# A line that is only the marker, its value on the next line: "SCORE:"; group 1 the label.
_SCORE_HEADING = re.compile(r"^(score)\s*:?\s*$", re.I)
# A line that is only a value: "2/10", "7.", "4 out of 10 (weak)".
_VALUE_ONLY = re.compile(rf"^{_VALUE}{_PAREN}\s*\.?$", re.I)
# A chain step that gives a result: "= 7/10", "-> 7", "→ Rounded to 7/10", ", rounded to 7".
_RESULT_STEP = re.compile(rf"\s*(?:(?:=|\u2192|->|=>|\u2248)\s*(?:{_ROUNDED})?|,?\s*{_ROUNDED}){_VALUE}", re.I)
# A chain step of a sum still open: "+ 3", "- 1".
_ARITH_STEP = re.compile(rf"\s*[-+]\s*{_VALUE}", re.I)
# Any other scored mention: a fraction "4/5" or "3 out of 5", or "score" just before a number
# ("Score: 3", "score of 7", "score is 6").
_PART_MENTION = re.compile(r"\d\s*(?:/|out\s+of)\s*\d|\bscore\b\W{0,4}(?:(?:of|is)\s+)?-?\d", re.I)

# Markdown emphasis and code marks: "**", "__", "`".
_EMPHASIS = re.compile(r"\*+|__+|`+")
# Heading and block-quote marks at the start of a line: "### ", "> ".
_LEADING_MARKS = re.compile(r"^[#>\s]+")
# A list item marker: "- ", "* " (not "**"), "+ ", "• ", "1. ", "2) ".
_BULLET = re.compile(r"^\s*(?:[-+\u2022]|\*(?!\*)|\d+[.)])\s+")

# A closed reasoning trace: <think>...</think> or <thinking ...>...</thinking>.
_THINK_BLOCK = re.compile(r"<(think(?:ing)?)\b[^>]*>.*?</\1\s*>", re.I | re.S)
# A closing trace tag whose opening tag is missing (some providers drop it).
_THINK_CLOSE = re.compile(r"</think(?:ing)?\s*>", re.I)
# An opening trace tag never closed (the answer was cut inside the trace).
_THINK_OPEN = re.compile(r"<think(?:ing)?\b[^>]*>", re.I)

_MAX_CANDIDATES_IN_ERROR = 20
_DIGITS = 6  # rounding of normalised values, so 7/9*9 compares equal to 7


@dataclass(frozen=True)
class Candidate:
    kind: Kind
    line: int  # 1-based line number in the raw answer
    text: str  # the line, markdown removed
    value: float | None  # on the template scale; None for per-part mentions

    def as_ctx(self) -> dict[str, object]:
        return {"kind": self.kind, "line": self.line, "text": self.text, "value": self.value}


def _blank_keep_lines(fragment: str) -> str:
    return "\n" * fragment.count("\n")


def strip_reasoning(text: str) -> str:
    """The answer without reasoning traces; line numbers are kept by leaving blank lines."""
    text = _THINK_BLOCK.sub(lambda m: _blank_keep_lines(m.group(0)), text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = _blank_keep_lines(text[: closes[-1].end()]) + text[closes[-1].end() :]
    opening = _THINK_OPEN.search(text)
    if opening:
        text = text[: opening.start()]
    return text


def _normalise(line: str) -> tuple[str, bool]:
    """(line without markdown, whether it is a list item)."""
    line = _LEADING_MARKS.sub("", line.strip())
    bullet = _BULLET.match(line)
    if bullet:
        line = line[bullet.end() :]
    return _EMPHASIS.sub("", line).strip(), bullet is not None


def _scaled(num: str, den: str | None, scale_max: float) -> float | None:
    if den is None:
        return round(float(num), _DIGITS)
    if float(den) == 0:
        return None
    return round(float(num) * scale_max / float(den), _DIGITS)


def _chain_value(line: str, match: re.Match[str], scale_max: float) -> float | None:
    """The value a statement ends on: the result of its chain; None for a sum left open."""
    num, den = match.group(1), match.group(2)
    pos, open_sum = match.end(), False
    while True:
        step = _RESULT_STEP.match(line, pos)
        if step:
            num, den, pos, open_sum = step.group(1), step.group(2), step.end(), False
            continue
        step = _ARITH_STEP.match(line, pos)
        if not step:
            break
        pos, open_sum = step.end(), True
    return None if open_sum else _scaled(num, den, scale_max)


def _next_value(lines: list[tuple[str, bool]], index: int, scale_max: float) -> tuple[int, float | None]:
    """(index, value) of the next non-empty line when it is only a value, else (-1, None)."""
    for j in range(index + 1, len(lines)):
        if lines[j][0]:
            match = _VALUE_ONLY.match(lines[j][0])
            return (j, _scaled(match.group(1), match.group(2), scale_max)) if match else (-1, None)
    return -1, None


def _score_kind(label: str) -> Kind:
    return "score" if label == "SCORE" else "score_other_case"


def find_candidates(text: str, scale_max: float) -> list[Candidate]:
    """Every line that states a score, classified (see the module docstring)."""
    lines = [_normalise(line) for line in strip_reasoning(text).split("\n")]
    found: list[Candidate] = []
    consumed: set[int] = set()  # value lines already read as the value of a heading above
    for i, (line, bullet) in enumerate(lines):
        if not line or i in consumed:
            continue
        kind: Kind | None = None
        value: float | None = None
        statement = _FINAL_STATEMENT.search(line)
        score_line = None if bullet else _SCORE_LINE.match(line)
        score_heading = None if bullet else _SCORE_HEADING.match(line)
        if statement:
            kind, value = "final", _chain_value(line, statement, scale_max)
        elif score_line:
            kind = _score_kind(score_line.group(1))
            value = _scaled(score_line.group(2), score_line.group(3), scale_max)
        elif _FINAL_HEADING.match(line) or score_heading:
            j, value = _next_value(lines, i, scale_max)
            if j >= 0:
                consumed.add(j)
                kind = _score_kind(score_heading.group(1)) if score_heading else "final"
                line = f"{line} {lines[j][0]}"
        if kind is not None and value is not None:
            found.append(Candidate(kind, i + 1, line, value))
        elif _PART_MENTION.search(line):
            found.append(Candidate("part", i + 1, line, None))
    return found


def _failure(reason: str, candidates: list[Candidate], **ctx: object) -> DDError:
    listed = [c.as_ctx() for c in candidates[:_MAX_CANDIDATES_IN_ERROR]]
    return DDError(Err.PARSER_FAILURE, {"reason": reason, "candidates": listed, **ctx})


def _agreed(candidates: list[Candidate]) -> float | None:
    values = {c.value for c in candidates}
    return values.pop() if len(values) == 1 else None


def _select(candidates: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """(the statements that decide, the lines that must agree with them) by precedence."""
    by_kind: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_kind.setdefault(c.kind, []).append(c)
    finals, upper, other = (by_kind.get(k, []) for k in ("final", "score", "score_other_case"))
    if finals:
        return finals, finals + upper
    if upper:
        return upper, upper
    if other and _agreed(other) is not None:
        return other, other
    return [], []


def final_verdict(text: str, scale_max: float = 10.0) -> float:
    """The judge's final verdict on a 0..scale_max scale; raises DDError(PARSER_FAILURE) when
    the answer states no verdict, several that disagree, or one out of range."""
    candidates = find_candidates(text or "", scale_max)
    deciding, checked = _select(candidates)
    if not deciding:
        reason = "ambiguous_verdict" if candidates else "no_verdict"
        raise _failure(reason, candidates)
    value = _agreed(checked)
    if value is None:
        raise _failure("ambiguous_verdict", checked)
    if not 0 <= value <= scale_max:
        raise _failure("out_of_range", checked, scale_max=scale_max)
    return value
