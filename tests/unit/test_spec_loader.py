"""Loader: document shapes, ``@file:`` payloads and every load-time error (code + ctx only)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from daydreaming.cohort.spec import Spec, SpecDslError, load_spec
from daydreaming.cohort.spec.errors import SpecDslErrorCode
from daydreaming.cohort.spec.models import PairRule, SubsetRule, TieRule, TupleRule
from daydreaming.errors import DDError, Err

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"
NO_VALUE = "<no value in ctx>"


def spec_error(fn: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SpecDslError) as info:
        fn()
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.spec_code is SpecDslErrorCode.INVALID_SPEC
    assert err.ctx["reason"] == "invalid_spec"
    assert isinstance(err.ctx["error"], str) and err.ctx["error"]
    return err.ctx


def base(**extra: Any) -> dict[str, Any]:
    """A minimal valid document; tests override one section to break it."""
    doc: dict[str, Any] = {"axes": {"a": ["x", "y"], "b": ["1"]}, "output": {"field_order": ["a", "b"]}}
    doc.update(extra)
    return doc


def write_spec(tmp_path: Path, doc: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# -- fixtures and sources ------------------------------------------------------------------


def test_fixture_parses_axes_rules_and_derived_tuple_axes() -> None:
    spec = load_spec(FIXTURES / "pair_with_tuple_side" / "config.yaml")
    assert list(spec.axes)[-2:] == ["essay_template", "essay_llm"]
    assert spec.derived_axes == ("essay_template", "essay_llm")
    assert spec.axes["essay_template"] == ("notes-to-essay", "final-idea-copy", "draft-to-essay-v2")
    assert spec.axes["essay_llm"] == ("deep-writer", "fast-writer")
    assert spec.axes["draft_template_replicate"] == ("1", "2")
    assert [type(r) for r in spec.rules] == [TupleRule, PairRule]
    tuple_rule, pair_rule = spec.rules
    assert tuple_rule.key == "rules.tuples.essay_bundle"
    assert tuple_rule.items[0] == ("notes-to-essay", "deep-writer")
    assert pair_rule.allowed == (("link-list", ("notes-to-essay", "deep-writer")),
                                 ("thinking-then-essay", ("final-idea-copy", "deep-writer")))
    assert spec.field_order[0] == "draft_template"
    assert spec.path == FIXTURES / "pair_with_tuple_side" / "config.yaml"


@pytest.mark.shared
def test_real_cohort_cartesian_fixture_parses_axes_rules_and_derived_tuple_axes(shared: Path) -> None:
    path = shared / "reference" / "spec_fixtures" / "cohort_cartesian" / "config.yaml"
    spec = load_spec(path)
    assert list(spec.axes)[-2:] == ["essay_template", "essay_llm"]
    assert spec.derived_axes == ("essay_template", "essay_llm")
    assert spec.axes["essay_template"] == ("essay-X", "essay-Y")
    assert spec.axes["essay_llm"] == ("essay-llm",)
    assert spec.axes["draft_template_replicate"] == ("1", "2")
    assert [type(r) for r in spec.rules] == [TupleRule, PairRule]
    tuple_rule, pair_rule = spec.rules
    assert tuple_rule.key == "rules.tuples.essay_bundle"
    assert tuple_rule.items == (("essay-X", "essay-llm"), ("essay-Y", "essay-llm"))
    assert pair_rule.allowed == (("eval-1", "eval-llm"),)
    assert spec.field_order[0] == "combo_id"
    assert spec.path == path


def test_directory_resolves_to_its_config_yaml() -> None:
    assert load_spec(FIXTURES / "pairs_from_files") == load_spec(FIXTURES / "pairs_from_files" / "config.yaml")


def test_directory_without_config_yaml_is_rejected(tmp_path: Path) -> None:
    ctx = spec_error(lambda: load_spec(tmp_path))
    assert ctx["path"] == str(tmp_path)


def test_missing_spec_file(tmp_path: Path) -> None:
    ctx = spec_error(lambda: load_spec(tmp_path / "nope.yaml"))
    assert ctx["path"] == str(tmp_path / "nope.yaml")


def test_unsupported_spec_suffix(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("axes = {}")
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["value"] == ".toml"


def test_json_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(base()))
    spec = load_spec(path)
    assert spec.axes == {"a": ("x", "y"), "b": ("1",)}
    assert spec.field_order == ("a", "b")


def test_mapping_source_and_integer_levels_become_strings() -> None:
    spec = load_spec(base(axes={"a": ["x"], "b": [1, 2]}))
    assert spec.axes["b"] == ("1", "2")
    assert spec.path is None


@pytest.mark.parametrize("bad", [True, 1.5, None, "", {"k": "v"}])
def test_non_string_levels_are_rejected(bad: Any) -> None:
    ctx = spec_error(lambda: load_spec(base(axes={"a": ["x", bad], "b": ["1"]})))
    assert ctx["key"] == "axes.a"
    assert ctx["value"] == bad


def test_yaml_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("axes: {a: [x]}\naxes: {b: [y]}\noutput: {field_order: [b]}\n")
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["file"] == str(path) and "duplicate key 'axes'" in ctx["detail"]


def test_unparseable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("axes: [unclosed\n")
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["path"] == str(path)
    assert ctx["file"] == str(path)


# -- @file payloads --------------------------------------------------------------------------


def test_file_payloads_csv_txt_yaml_json(tmp_path: Path) -> None:
    doc = {
        "axes": {
            "a": "@file:items/a.csv",
            "b": "@file:items/b.txt",
            "c": "@file:items/c.yaml",
            "d": "@file:items/d.json",
        },
        "rules": {
            "subsets": {"a": "@file:items/keep.txt"},
            "pairs": {"cd": {"left": "c", "right": "d", "allowed": "@file:items/cd.csv"}},
            "tuples": {"t": {"axes": ["e", "f"], "items": "@file:items/ef.yaml"}},
        },
        "output": {"field_order": ["a", "b", "c", "d", "e", "f"]},
    }
    files = {
        "items/a.csv": "a\n a1 \n\na2\na3\n",
        "items/b.txt": "b1\n\n  b2  \n",
        "items/c.yaml": "- c1\n- c2\n",
        "items/d.json": '["d1", 2]',
        "items/keep.txt": "a1\na3\n",
        "items/cd.csv": "c,d\nc1,d1\nc2,2\n",
        "items/ef.yaml": "- [e1, f1]\n- [e2, f2]\n",
    }
    spec = load_spec(write_spec(tmp_path, doc, files))
    assert spec.axes["a"] == ("a1", "a2", "a3")
    assert spec.axes["b"] == ("b1", "b2")
    assert spec.axes["c"] == ("c1", "c2")
    assert spec.axes["d"] == ("d1", "2")
    subset, pair, tup = spec.rules
    assert subset == SubsetRule(key="rules.subsets.a", axis="a", keep=("a1", "a3"))
    assert pair.allowed == (("c1", "d1"), ("c2", "2"))
    assert tup.items == (("e1", "f1"), ("e2", "f2"))
    assert spec.axes["e"] == ("e1", "e2")


def test_file_resolves_against_explicit_base_dir_for_mappings(tmp_path: Path) -> None:
    (tmp_path / "levels.txt").write_text("p\nq\n")
    spec = load_spec(base(axes={"a": "@file:levels.txt", "b": ["1"]}), base_dir=tmp_path)
    assert spec.axes["a"] == ("p", "q")


def test_file_in_mapping_without_base_dir_is_rejected() -> None:
    ctx = spec_error(lambda: load_spec(base(axes={"a": "@file:levels.txt", "b": ["1"]})))
    assert ctx["key"] == "axes.a"
    assert ctx["value"] == "@file:levels.txt"


def test_single_column_csv_feeds_a_one_axis_tuple(tmp_path: Path) -> None:
    doc = base(
        rules={"tuples": {"t": {"axes": ["c"], "items": "@file:c.csv"}}}, output={"field_order": ["a", "b", "c"]}
    )
    spec = load_spec(write_spec(tmp_path, doc, {"c.csv": "c\nc1\nc2\n"}))
    assert spec.rules[0].items == (("c1",), ("c2",))
    assert spec.axes["c"] == ("c1", "c2")


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("", {}),  # no header
        ("a\n\n", {}),  # header, no rows
        (",b\nx,y\n", {"value": ["", "b"]}),  # empty header name
        ("a,b\nx,\n", {"row": 2, "value": ["x", ""]}),  # empty cell
        ("a,b\nx,y\nx,y,z\n", {"row": 3, "value": ["x", "y", "z"]}),  # extra cell
    ],
)
def test_bad_csv_payloads(tmp_path: Path, text: str, extra: dict[str, Any]) -> None:
    path = write_spec(tmp_path, base(axes={"a": "@file:a.csv", "b": ["1"]}), {"a.csv": text})
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["key"] == "axes.a"
    assert ctx["path"] == str(path)
    assert ctx["file"] == str(tmp_path / "a.csv")
    for name, value in extra.items():
        assert ctx[name] == value


def test_multi_column_csv_cannot_be_axis_levels(tmp_path: Path) -> None:
    path = write_spec(tmp_path, base(axes={"a": "@file:a.csv", "b": ["1"]}), {"a.csv": "a,z\nx,y\n"})
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["key"] == "axes.a"
    assert ctx["value"] == ("x", "y")


@pytest.mark.parametrize(("name", "text"), [("a.xlsx", "x"), ("missing.txt", None), ("bad.json", "[1,")])
def test_unusable_file_payloads(tmp_path: Path, name: str, text: str | None) -> None:
    files = {name: text} if text is not None else {}
    path = write_spec(tmp_path, base(axes={"a": f"@file:{name}", "b": ["1"]}), files)
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["key"] == "axes.a"
    assert ctx["file"] == str(tmp_path / name)


def test_empty_txt_payload_is_an_empty_axis(tmp_path: Path) -> None:
    path = write_spec(tmp_path, base(axes={"a": "@file:a.txt", "b": ["1"]}), {"a.txt": "\n  \n"})
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["key"] == "axes.a"
    assert ctx["value"] == []


def test_file_reference_not_allowed_for_tie_axes(tmp_path: Path) -> None:
    doc = base(rules={"ties": {"t": "@file:names.txt"}})
    ctx = spec_error(lambda: load_spec(write_spec(tmp_path, doc, {"names.txt": "a\nb\n"})))
    assert ctx["key"] == "rules.ties.t"
    assert ctx["value"] == "@file:names.txt"


# -- rule shapes -----------------------------------------------------------------------------


def test_rule_shapes_in_declaration_order() -> None:
    doc = base(
        axes={"a": ["x", "y"], "b": ["x"], "c": ["1", "2"]},
        rules={
            "ties": {"ab": {"axes": ["a", "b"]}, "c": ["c"]},
            "subsets": {"ab": ["x"]},
            "pairs": {"p": {"left": "ab", "right": "c", "allowed": [["x", "1"]], "balance": "left"}},
        },
        output={"field_order": ["ab", "a", "b", "c"]},
    )
    spec = load_spec(doc)
    assert spec.rules == (
        TieRule(key="rules.ties.ab", name="ab", axes=("a", "b")),
        TieRule(key="rules.ties.c", name="c", axes=("c",)),
        SubsetRule(key="rules.subsets.ab", axis="ab", keep=("x",)),
        PairRule(key="rules.pairs.p", name="p", left="ab", right="c", allowed=(("x", "1"),), balance="left"),
    )


def test_pair_sides_may_be_nested_lists() -> None:
    doc = base(rules={"pairs": {"p": {"left": "a", "right": "bundle", "allowed": [["x", ["t1", "m1"]]]}}})
    assert load_spec(doc).rules[0].allowed == (("x", ("t1", "m1")),)


RULE_ERRORS = [
    ({"rules": ["not", "a", "mapping"]}, "rules", ["not", "a", "mapping"]),
    ({"rules": {"filters": {"a": ["x"]}}}, "rules.filters", {"a": ["x"]}),
    ({"rules": {"subsets": None}}, "rules.subsets", None),
    ({"rules": {"subsets": {"a": "x"}}}, "rules.subsets.a", "x"),
    ({"rules": {"subsets": {"a": []}}}, "rules.subsets.a", []),
    ({"rules": {"ties": {"t": {"axes": ["a", "b"], "to": "q"}}}}, "rules.ties.t.to", "q"),
    ({"rules": {"ties": {"t": {"axes": ["a"], "extra": 1}}}}, "rules.ties.t.extra", 1),
    ({"rules": {"ties": {"t": "a"}}}, "rules.ties.t", "a"),
    ({"rules": {"ties": {"t": ["a", "a"]}}}, "rules.ties.t", ["a", "a"]),
    ({"rules": {"pairs": {"p": ["a", "b"]}}}, "rules.pairs.p", ["a", "b"]),
    ({"rules": {"pairs": {"p": {"right": "b", "allowed": [["x", "1"]]}}}}, "rules.pairs.p.left", None),
    ({"rules": {"pairs": {"p": {"left": "a", "right": "a", "allowed": [["x", "x"]]}}}}, "rules.pairs.p.right", "a"),
    ({"rules": {"pairs": {"p": {"left": "a", "right": "b"}}}}, "rules.pairs.p.allowed", None),
    ({"rules": {"pairs": {"p": {"left": "a", "right": "b", "allowed": [["x"]]}}}}, "rules.pairs.p.allowed", ["x"]),
    (
        {"rules": {"pairs": {"p": {"left": "a", "right": "b", "allowed": [["x", "1"]], "balance": "up"}}}},
        "rules.pairs.p.balance",
        "up",
    ),
    (
        {"rules": {"pairs": {"p": {"left": "a", "right": "b", "allowed": [["x", "1"]], "name": "p"}}}},
        "rules.pairs.p.name",
        "p",
    ),
    (
        {"rules": {"tuples": {"t": {"axes": ["c", "d"], "items": [["1", "2"]], "expand": True}}}},
        "rules.tuples.t.expand",
        True,
    ),
    ({"rules": {"tuples": {"t": {"axes": ["c", "d"], "items": [["1"]]}}}}, "rules.tuples.t.items", ["1"]),
    ({"rules": {"tuples": {"t": {"axes": "c", "items": [["1"]]}}}}, "rules.tuples.t.axes", "c"),
    ({"rules": {"tuples": {"t": {"axes": ["a", "d"], "items": [["x", "2"]]}}}}, "rules.tuples.t.axes", "a"),
    (
        {
            "rules": {
                "tuples": {"t": {"axes": ["c", "d"], "items": [["1", "2"]]}, "u": {"axes": ["c"], "items": [["1"]]}}
            }
        },
        "rules.tuples.u.axes",
        "c",
    ),
]


# -- top level and output ----------------------------------------------------------------------


TOP_ERRORS = [
    ({"axes": None}, "axes", None),
    ({"axes": {"a": "x", "b": ["1"]}}, "axes.a", "x"),
    ({"axes": {"a": [], "b": ["1"]}}, "axes.a", []),
    ({"extra": 7}, "extra", 7),
    ({"output": None}, "output.field_order", NO_VALUE),
    ({"output": {"field_order": "a"}}, "output.field_order", "a"),
    ({"output": {"field_order": ["a", "zz"]}}, "output.field_order", "zz"),
    ({"output": {"field_order": ["a", "a"]}}, "output.field_order", ["a", "a"]),
    ({"output": {"field_order": ["a"], "order": ["a"]}}, "output.order", ["a"]),
    ({"output": {"field_order": ["a"], "expand_pairs": False}}, "output.expand_pairs", False),
    ({"output": {"field_order": ["a"], "keep_tuple_axis": True}}, "output.keep_tuple_axis", True),
    ({"output": {"field_order": ["a"], "seed": 3}}, "output.seed", 3),
]


@pytest.mark.parametrize(("override", "key", "value"), RULE_ERRORS + TOP_ERRORS)
def test_document_errors_name_key_and_value(override: dict[str, Any], key: str, value: Any) -> None:
    ctx = spec_error(lambda: load_spec(base(**override)))
    assert ctx["key"] == key
    assert ctx.get("value", NO_VALUE) == value


def test_axes_are_required() -> None:
    ctx = spec_error(lambda: load_spec({"output": {"field_order": []}}))
    assert ctx["key"] == "axes"


def test_unknown_keys_list_the_allowed_ones() -> None:
    ctx = spec_error(lambda: load_spec(base(rule={})))
    assert ctx["key"] == "rule"
    assert ctx["allowed"] == ["axes", "output", "rules"]


def test_document_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("- a\n- b\n")
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["value"] == "list"
    assert ctx["path"] == str(path)


def test_field_order_names_tuple_axes_and_new_tie_names() -> None:
    doc = base(
        axes={"a": ["x"], "b": ["x"]},
        rules={"ties": {"ab": ["a", "b"]}, "tuples": {"t": {"axes": ["c"], "items": [["1"]]}}},
        output={"field_order": ["c", "ab", "b", "a"]},
    )
    assert load_spec(doc).field_order == ("c", "ab", "b", "a")


@pytest.mark.parametrize(
    ("order", "missing"),
    [
        (["c", "ab"], ["a", "b"]),  # a tie keeps its members as columns
        (["a", "b", "ab"], ["c"]),  # a tuple's axes are columns
        ([], ["a", "b", "c", "ab"]),
    ],
)
def test_incomplete_field_order_is_refused(order: list[str], missing: list[str]) -> None:
    doc = base(
        axes={"a": ["x"], "b": ["x"]},
        rules={"ties": {"ab": ["a", "b"]}, "tuples": {"t": {"axes": ["c"], "items": [["1"]]}}},
        output={"field_order": order},
    )
    ctx = spec_error(lambda: load_spec(doc))
    assert ctx["key"] == "output.field_order"
    assert ctx["value"] == order
    assert ctx["missing"] == missing
    assert "fix" in ctx


def test_pair_and_tuple_names_are_not_columns() -> None:
    doc = base(rules={"tuples": {"t": {"axes": ["c"], "items": [["1"]]}}}, output={"field_order": ["a", "b", "c", "t"]})
    ctx = spec_error(lambda: load_spec(doc))
    assert (ctx["key"], ctx["value"]) == ("output.field_order", "t")
    assert ctx["allowed"] == ["a", "b", "c"]


def test_load_errors_carry_the_spec_path(tmp_path: Path) -> None:
    path = write_spec(tmp_path, base(rules={"pairs": {"p": {"left": "a"}}}))
    ctx = spec_error(lambda: load_spec(path))
    assert ctx["path"] == str(path)
    assert ctx["key"] == "rules.pairs.p.right"


# -- the error type itself ---------------------------------------------------------------------


def test_spec_error_is_a_ddError_that_survives_pickling() -> None:
    err = SpecDslError("boom", key="axes.a", value=["x"], path=Path("/s/config.yaml"), axis="a")
    assert isinstance(err, DDError)
    assert err.ctx == {
        "reason": "invalid_spec",
        "error": "boom",
        "key": "axes.a",
        "value": ["x"],
        "path": "/s/config.yaml",
        "axis": "a",
    }
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is SpecDslError
    assert clone.code is Err.INVALID_CONFIG
    assert clone.ctx == err.ctx
    assert clone.spec_code is SpecDslErrorCode.INVALID_SPEC


def test_spec_is_frozen() -> None:
    spec = load_spec(base())
    assert isinstance(spec, Spec)
    with pytest.raises(AttributeError):
        spec.field_order = ()  # type: ignore[misc]
