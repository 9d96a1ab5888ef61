"""Parser registry: raw LLM text -> the text written to ``parsed.txt``, per stage.

Names are the ones the template CSVs' ``parser`` column uses (the earlier system's), plus the new
evaluation parser ``final_verdict``. Parsers are pure functions; every failure is
``DDError(PARSER_FAILURE, {"reason": ...})`` and never a ``None`` result, so the pipeline can
report the parser's own reason. Evaluation parsers write the earlier system's line, ``f"{float(score)}\\n"``.

``options`` carry per-template settings to the parsers that use them (``scale_max`` for
``final_verdict``); an option no parser knows is refused, so a typo cannot pass unnoticed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DDError, Err
from ..stages import require_stage
from .earlier import essay_block, essay_block_lenient, essay_idea_last, in_last_line_score
from .scale import template_options, template_scale
from .verdict import final_verdict

__all__ = ["ParserOptions", "effective_parser_name", "list_parsers", "parse", "template_options", "template_scale"]

DEFAULT_PARSER = "identity"
# What a CSV cell holding no parser looks like once read: empty, pandas' NaN/NA, or their text.
_BLANK_NAMES = frozenset({"", "nan", "none", "<na>"})


@dataclass(frozen=True)
class ParserOptions:
    """Per-template parser settings; parsers read only the fields they use."""

    scale_max: float = 10.0


Parser = Callable[[str, ParserOptions], str]


def _score_text(score: object, parser_name: str) -> str:
    """The earlier system's parsed.txt for a score: one float line, e.g. ``7.0\\n``."""
    if not isinstance(score, (int, float)):
        raise DDError(
            Err.PARSER_FAILURE,
            {"reason": "missing_numeric_score", "parser_name": parser_name, "score": repr(score)},
        )
    return f"{float(score)}\n"


def _identity(text: str, _options: ParserOptions) -> str:
    return text


def _text_parser(fn: Callable[[str], str]) -> Parser:
    return lambda text, _options: fn(text)


_REGISTRY: dict[str, dict[str, Parser]] = {
    "draft": {
        "identity": _identity,
        "essay_block": _text_parser(essay_block),
        "essay_block_lenient": _text_parser(essay_block_lenient),
        "essay_idea_last": _text_parser(essay_idea_last),
    },
    "essay": {"identity": _identity},
    "evaluation": {
        "identity": _identity,
        "in_last_line": lambda text, _options: _score_text(in_last_line_score(text), "in_last_line"),
        "final_verdict": lambda text, options: _score_text(
            final_verdict(text, scale_max=options.scale_max), "final_verdict"
        ),
    },
}


def list_parsers(stage: str) -> list[str]:
    """The parser names registered for ``stage``, sorted."""
    return sorted(_REGISTRY[require_stage(stage)])


def effective_parser_name(csv_value: Any) -> str:
    """The parser a template CSV cell names: blank, None or NaN mean ``identity`` (as in the earlier system)."""
    if csv_value is None or (isinstance(csv_value, float) and math.isnan(csv_value)):
        return DEFAULT_PARSER
    name = str(csv_value).strip()
    return DEFAULT_PARSER if name.lower() in _BLANK_NAMES else name


def _options(options: Mapping[str, Any] | None, stage: str, parser_name: str) -> ParserOptions:
    options = dict(options or {})
    unknown = sorted(set(options) - set(ParserOptions.__dataclass_fields__))
    if unknown:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "unknown_parser_option", "stage": stage, "parser_name": parser_name,
             "options": unknown, "allowed": sorted(ParserOptions.__dataclass_fields__)},
        )
    if "scale_max" not in options:
        return ParserOptions()
    try:
        scale_max = float(options["scale_max"])
    except (TypeError, ValueError):
        scale_max = math.nan
    if not (math.isfinite(scale_max) and scale_max > 0):
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "invalid_scale_max", "stage": stage, "parser_name": parser_name,
             "value": options["scale_max"]},
        )
    return ParserOptions(scale_max=scale_max)


def parse(stage: str, parser_name: str, raw_text: str, options: Mapping[str, Any] | None = None) -> str:
    """The text to write to ``parsed.txt`` for ``raw_text`` under ``stage``'s ``parser_name``."""
    parsers = _REGISTRY[require_stage(stage)]
    name = parser_name.strip() if isinstance(parser_name, str) else ""
    if not name:
        raise DDError(Err.INVALID_CONFIG, {"reason": "missing_parser_name", "stage": stage})
    parser = parsers.get(name)
    if parser is None:
        raise DDError(
            Err.PARSER_FAILURE,
            {"reason": "missing_parser", "stage": stage, "parser_name": name, "available": sorted(parsers)},
        )
    return parser(raw_text, _options(options, stage, name))
