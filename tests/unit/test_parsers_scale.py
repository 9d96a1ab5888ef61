"""How an evaluation template declares its score scale (``score_scale``), and that the parse
phase applies it: the mapping from template CSV columns to parser options is explicit."""

from __future__ import annotations

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.parsers import template_options, template_scale
from daydreaming.parsers.scale import parse_scale


@pytest.mark.parametrize("value, top", [("0-10", 10.0), ("10", 10.0), ("0 - 5", 5.0), ("0..4.5", 4.5),
                                        ("0 to 100", 100.0), ("0\u20139", 9.0)])
def test_scale_cells(value, top):
    assert parse_scale(value) == top


@pytest.mark.parametrize("value", ["1-5", "0-0", "-10", "ten", "0-", "5-1", ""])
def test_bad_scale_cells_are_refused(value):
    with pytest.raises(DDError) as info:
        parse_scale(value, "judge-x")
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "invalid_score_scale" and info.value.ctx["template_id"] == "judge-x"


@pytest.mark.parametrize("parser, columns, options, top", [
    ("final_verdict", {}, {}, 10.0),  # the parser's default 0-10
    ("final_verdict", {"score_scale": "0-5"}, {"scale_max": 5.0}, 5.0),
    ("final_verdict", {"score_scale": "100"}, {"scale_max": 100.0}, 100.0),
    ("in_last_line", {}, {}, 9.0),  # the earlier system's fixed 0-9
    ("in_last_line", {"score_scale": "0-9"}, {}, 9.0),
    ("identity", {}, {}, None),  # writes no score
    ("final_verdict", {"notes": "kept"}, {"notes": "kept"}, 10.0),  # other columns pass through
])
def test_template_columns_to_parser_options_and_scale(parser, columns, options, top):
    assert template_options(parser, columns) == options
    assert template_scale(parser, columns) == top


@pytest.mark.parametrize("parser, columns, reason", [
    ("in_last_line", {"score_scale": "0-10"}, "unsupported_score_scale"),  # cannot be rescaled
    ("identity", {"score_scale": "0-10"}, "unsupported_score_scale"),
    ("final_verdict", {"score_scale": "1-5"}, "invalid_score_scale"),
    ("final_verdict", {"scale_max": "5"}, "invalid_template_column"),  # the CSV name is score_scale
])
def test_scales_a_parser_cannot_honour_are_refused(parser, columns, reason):
    with pytest.raises(DDError) as info:
        template_options(parser, columns, "tpl")
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["reason"] == reason
    assert info.value.ctx["template_id"] == "tpl"


def _evaluation_store(tmp_path, parser: str, scale: str, answer: str):
    """A data root with one evaluation whose raw answer is ``answer``, ready to parse."""
    from daydreaming.models import MainMetadata, RawMetadata
    from daydreaming.paths import Paths
    from daydreaming.runtime import Runtime

    paths = Paths(tmp_path / "data")
    paths.templates_csv("evaluation").parent.mkdir(parents=True)
    paths.templates_csv("evaluation").write_text(
        f"template_id,template_name,description,parser,generator,score_scale\njudge,J,d,{parser},llm,{scale}\n")
    paths.template_file("evaluation", "judge").parent.mkdir(parents=True)
    paths.template_file("evaluation", "judge").write_text("{{ response }}\n")
    rt = Runtime.from_config({"data_root": str(paths.data_root), "cohorts": []})
    rt.store.create_main_metadata(MainMetadata(stage="evaluation", gen_id="v_1", template_id="judge",
                                             parent_gen_id="e_1", llm_model_id="m"))
    rt.store.write_raw("evaluation", "v_1", answer, RawMetadata(
        function="evaluation_raw", mode="llm", stage="evaluation", gen_id="v_1", raw_length=len(answer),
        raw_lines=answer.count("\n"), raw_path=str(paths.raw_path("evaluation", "v_1")),
        raw_metadata_path=str(paths.raw_metadata_path("evaluation", "v_1"))))
    return rt


@pytest.mark.parametrize("parser, scale, answer, parsed", [
    ("final_verdict", "0-5", "Reasoning.\nTotal Score: 7/10\n", "3.5\n"),
    ("final_verdict", "", "Reasoning.\nTotal Score: 7/10\n", "7.0\n"),
    ("in_last_line", "", "Reasoning.\nSCORE: 7\n", "7.0\n"),
])
def test_the_parse_phase_applies_the_declared_scale(tmp_path, parser, scale, answer, parsed):
    from daydreaming.phases import run_parsed

    rt = _evaluation_store(tmp_path, parser, scale, answer)
    run_parsed(rt, "evaluation", "v_1")
    assert rt.store.read_parsed("evaluation", "v_1") == parsed
    assert rt.store.read_parsed_metadata("evaluation", "v_1").parser_name == parser


def test_a_scale_the_parser_cannot_honour_stops_the_parse(tmp_path):
    from daydreaming.phases import run_parsed

    rt = _evaluation_store(tmp_path, "in_last_line", "0-10", "SCORE: 7\n")
    with pytest.raises(DDError) as info:
        run_parsed(rt, "evaluation", "v_1")
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["reason"] == "unsupported_score_scale"
    assert not rt.paths.parsed_path("evaluation", "v_1").exists()
