"""The spec command: csv/jsonl output, shuffle/limit, and error exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from daydreaming.cohort.spec import expand_design, load_spec
from daydreaming.cohort.spec.cli import main
from daydreaming.errors import parse_rendered

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"
PAIRED = FIXTURES / "copy_mix"


def test_csv_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PAIRED)]) == 0
    assert capsys.readouterr().out == (
        "draft_template,essay_template,evaluation_template,evaluation_llm\n"
        "link-list,notes-to-essay,novelty-0-9,judge_v1\n"
        "tagged-thread-v2,final-idea-copy,novelty-0-9,judge_v1\n"
    )


def test_jsonl_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "design.jsonl"
    assert main([str(FIXTURES / "pair_with_tuple_side" / "config.yaml"), "--format", "jsonl", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == expand_design(load_spec(FIXTURES / "pair_with_tuple_side"))
    assert len(lines) == 4


@pytest.mark.parametrize("flag", ["--shuffle-seed", "--seed"])  # --seed: the old name, still accepted
def test_csv_file_with_shuffle_seed_and_limit(tmp_path: Path, flag: str) -> None:
    out = tmp_path / "design.csv"
    spec_dir = FIXTURES / "replicates_tuple"
    assert main([str(spec_dir), flag, "5", "--limit", "3", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == expand_design(load_spec(spec_dir), shuffle_seed=5)[:3]
    assert rows != expand_design(load_spec(spec_dir))[:3]  # the flag did shuffle


def test_spec_error_prints_rendered_error_and_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.yaml").write_text("axes: {a: [x]}\n")
    assert main([str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [(code, ctx)] = parse_rendered(captured.err)
    assert code == "INVALID_CONFIG"
    assert ctx["reason"] == "invalid_spec"
    assert ctx["key"] == "output.field_order"
    assert ctx["path"] == str(tmp_path / "config.yaml")


def test_unwritable_output_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([str(PAIRED), "--out", str(blocker / "design.csv")]) == 2
    [(code, ctx)] = parse_rendered(capsys.readouterr().err)
    assert code == "IO_ERROR"
    assert ctx["path"] == str(blocker / "design.csv")


@pytest.mark.parametrize("args", [["--format", "xml"], ["--limit", "-1"], ["--shuffle-seed", "x"], ["--seed", "x"]])
def test_usage_errors_return_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PAIRED), *args]) == 2
    assert capsys.readouterr().out == ""
