"""How an evaluation template declares its score scale, and what that means for its parser.

Why one explicit mapping: the scale decides both how a judge's fraction is normalised
(``final_verdict``: ``7/10`` on a 0-5 template is ``3.5``) and how the report reads a score
("perfect" is the scale's top, heatmaps are coloured by the fraction of it). Templates declare
it in a ``score_scale`` column of ``evaluation_templates.csv``: ``0-10`` (or just ``10``).
Blank means the parser's own default: 0-10 for ``final_verdict``, the earlier system's fixed 0-9 for
``in_last_line`` (which cannot be rescaled, so another declared scale is refused rather than
silently ignored). Scales start at 0 because the parsers' range checks do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import DDError, Err
from .earlier import IN_LAST_LINE_RANGE

SCALE_COLUMN = "score_scale"
# The parser option the scale becomes (ParserOptions.scale_max).
SCALE_OPTION = "scale_max"
# parser name -> (default top of the scale, whether a template may declare another one)
PARSER_SCALES: dict[str, tuple[float, bool]] = {
    "final_verdict": (10.0, True),
    "in_last_line": (IN_LAST_LINE_RANGE[1], False),
}
# "10", "0-10", "0 - 9.5", "0..10"
_SCALE_RE = re.compile(r"^\s*(?:(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|\u2013|to)\s*)?(-?\d+(?:\.\d+)?)\s*$", re.I)


def parse_scale(value: str, template_id: str = "") -> float:
    """The top of a ``score_scale`` cell (``"0-10"`` -> 10.0); a bad cell is INVALID_CONFIG."""
    match = _SCALE_RE.match(str(value))
    low = float(match.group(1)) if match and match.group(1) is not None else 0.0
    high = float(match.group(2)) if match else math.nan
    if not (math.isfinite(high) and high > 0 and low == 0):
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "invalid_score_scale", "column": SCALE_COLUMN, "template_id": template_id,
             "value": value, "fix": "write the scale as 0-N with N > 0, e.g. 0-10"},
        )
    return high


def template_scale(parser_name: str, columns: Mapping[str, Any], template_id: str = "") -> float | None:
    """The top of the score scale an evaluation template's parser writes, or None for parsers
    that write no score (``identity``)."""
    default = PARSER_SCALES.get(parser_name)
    declared = columns.get(SCALE_COLUMN)
    if not declared:
        return default[0] if default else None
    high = parse_scale(declared, template_id)
    if default is None or (not default[1] and high != default[0]):
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "unsupported_score_scale", "column": SCALE_COLUMN, "template_id": template_id,
             "parser_name": parser_name, "value": declared,
             "supported": f"0-{default[0]:g}" if default else None,
             "fix": "use the final_verdict parser for another scale" if default else "remove score_scale"},
        )
    return high


def template_options(parser_name: str, columns: Mapping[str, Any], template_id: str = "") -> dict[str, Any]:
    """Parser options from a template's extra CSV columns: ``score_scale`` becomes ``scale_max``
    for parsers that rescale; other columns pass through (``parsers.parse`` refuses unknown ones).
    A ``scale_max`` column is refused: the CSV's name for the scale is ``score_scale``."""
    options = {k: v for k, v in columns.items() if k != SCALE_COLUMN}
    if SCALE_OPTION in options:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "invalid_template_column", "column": SCALE_OPTION, "template_id": template_id,
             "fix": f"declare the scale in a {SCALE_COLUMN} column, e.g. 0-10"},
        )
    high = template_scale(parser_name, columns, template_id)
    if high is not None and PARSER_SCALES[parser_name][1] and columns.get(SCALE_COLUMN):
        options[SCALE_OPTION] = high
    return options
