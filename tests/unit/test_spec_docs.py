"""docs/spec-language.md: every worked example expands to the rows (or the error) it shows.

An example is the helper files written before it (a block titled with a file name), a
``yaml spec`` block, then a ``csv`` block (the rows ``daydreaming spec`` prints) or a
``json error`` block (a subset of the error's ctx).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daydreaming.cohort.spec import SpecDslError, expand_design, load_spec
from daydreaming.cohort.spec.cli import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec-language.md"
FENCE = re.compile(r"^```(\w+)(?: +(\S+))?\n(.*?)^```$", re.M | re.S)


@dataclass
class Example:
    line: int
    spec: str
    files: dict[str, str] = field(default_factory=dict)
    rows: str | None = None
    error: dict | None = None


def examples() -> list[Example]:
    text = DOC.read_text(encoding="utf-8")
    found: list[Example] = []
    files: dict[str, str] = {}
    for match in FENCE.finditer(text):
        lang, title, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        if (lang, title) == ("yaml", "spec"):
            found.append(Example(line, body, files))
            files = {}
        elif (lang, title) == ("json", "error"):
            found[-1].error = json.loads(body)
        elif lang == "csv" and title is None:
            found[-1].rows = body
        elif title is not None:
            files[title] = body
    return found


EXAMPLES = examples()


def test_the_document_has_an_example_of_every_construct() -> None:
    specs = "\n".join(e.spec for e in EXAMPLES)
    for construct in ("subsets:", "ties:", "pairs:", "tuples:", "balance:", "@file:", "_replicate:", "field_order:"):
        assert construct in specs, construct
    assert all(e.rows is not None or e.error is not None for e in EXAMPLES)
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_example_expands_as_shown(tmp_path: Path, example: Example) -> None:
    for name, body in example.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(example.spec, encoding="utf-8")
    if example.error is not None:
        with pytest.raises(SpecDslError) as info:
            expand_design(load_spec(tmp_path))
        assert {k: info.value.ctx.get(k) for k in example.error} == example.error
        return
    rows = expand_design(load_spec(tmp_path))
    assert render(rows, "csv") == example.rows
    assert list(csv.DictReader(io.StringIO(example.rows))) == rows
