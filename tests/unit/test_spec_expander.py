"""The expander: fixture row counts, each rule's semantics, ordering, shuffling and speed."""

from __future__ import annotations

from pathlib import Path
from random import Random
from typing import Any

import pytest

from daydreaming.cohort.spec import SpecDslError, expand_design, load_spec
from daydreaming.cohort.spec.errors import SpecDslErrorCode
from daydreaming.errors import Err

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


def rows_of(doc: dict[str, Any], shuffle_seed: int | None = None) -> list[dict[str, str]]:
    return expand_design(load_spec(doc), shuffle_seed=shuffle_seed)


def expand_error(doc: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec(doc)
    with pytest.raises(SpecDslError) as info:
        expand_design(spec)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.spec_code is SpecDslErrorCode.INVALID_SPEC
    assert info.value.ctx["reason"] == "invalid_spec"
    return info.value.ctx


def columns_of(axes: dict[str, list[str]], rules: dict[str, Any]) -> list[str]:
    """Every column a design of these axes and rules has: declared axes, tuple axes, new tie names."""
    tuple_axes = [a for t in rules.get("tuples", {}).values() for a in t["axes"]]
    ties = list(rules.get("ties", {}))
    return list(dict.fromkeys([*axes, *tuple_axes, *ties]))


def spec(
    axes: dict[str, list[str]], rules: dict[str, Any] | None = None, order: list[str] | None = None
) -> dict[str, Any]:
    """A spec document; ``order`` lists the columns to put first, the others follow (a complete
    field_order is required)."""
    rules = rules or {}
    order = list(order or [])
    field_order = order + [c for c in columns_of(axes, rules) if c not in order]
    return {"axes": axes, "rules": rules, "output": {"field_order": field_order}}


def check_rows_and_columns(loaded, count: int) -> None:
    rows = expand_design(loaded)
    assert len(rows) == count
    assert len({tuple(r.items()) for r in rows}) == count  # no duplicate rows
    for row in rows:
        assert list(row) == list(loaded.field_order)
        assert all(isinstance(v, str) for v in row.values())


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("pairs_from_files", 12),  # 3 drafts x 2 essays x 2 evaluation pairs
        ("replicates_tuple", 24),  # 2 draft x 2 essay x 3 evaluation replicates x 2 bundles
        ("curated_bundles", 3),
        ("pair_with_tuple_side", 4),  # 2 allowed pairs x 2 replicates
        ("ties_and_subsets", 8),  # 2 kept combos x 2 kept templates x 2 tied LLMs
        ("copy_mix", 2),
    ],
)
def test_fixture_row_counts_and_columns(name: str, count: int) -> None:
    check_rows_and_columns(load_spec(FIXTURES / name), count)


EARLIER_FIXTURE_COUNTS = {"baseline_cartesian": 12, "cohort_cartesian": 8, "curated_essays": 2,
                          "dual_llm_cartesian": 4, "full_two_phase_cartesian": 64, "paired_copy_mix": 2}


@pytest.mark.shared
def test_earlier_systems_fixture_row_counts_and_columns(shared: Path) -> None:
    for name, count in EARLIER_FIXTURE_COUNTS.items():
        check_rows_and_columns(load_spec(shared / "reference" / "spec_fixtures" / name), count)


def test_copy_mix_rows_exactly() -> None:
    assert expand_design(load_spec(FIXTURES / "copy_mix")) == [
        {"draft_template": "link-list", "essay_template": "notes-to-essay",
         "evaluation_template": "novelty-0-9", "evaluation_llm": "judge_v1"},
        {"draft_template": "tagged-thread-v2", "essay_template": "final-idea-copy",
         "evaluation_template": "novelty-0-9", "evaluation_llm": "judge_v1"},
    ]


def test_pair_against_a_tuple_axis_restores_tuple_columns() -> None:
    rows = expand_design(load_spec(FIXTURES / "pair_with_tuple_side"))
    combos = [(r["draft_template"], r["essay_template"], r["essay_llm"], r["draft_template_replicate"]) for r in rows]
    assert combos == [
        ("link-list", "notes-to-essay", "deep-writer", "1"),
        ("link-list", "notes-to-essay", "deep-writer", "2"),
        ("thinking-then-essay", "final-idea-copy", "deep-writer", "1"),
        ("thinking-then-essay", "final-idea-copy", "deep-writer", "2"),
    ]


def test_tie_and_subsets_fixture() -> None:
    rows = expand_design(load_spec(FIXTURES / "ties_and_subsets"))
    assert {r["combo_id"] for r in rows} == {"combo-a", "combo-c"}  # the subset read from a .txt file
    assert {r["draft_template"] for r in rows} == {"link-list", "tagged-thread-v2"}
    assert all(r["writer_llm"] == r["draft_llm"] == r["essay_llm"] for r in rows)


@pytest.mark.shared
def test_earlier_systems_fixtures_rows_exactly(shared: Path) -> None:
    fixtures = shared / "reference" / "spec_fixtures"
    assert expand_design(load_spec(fixtures / "paired_copy_mix")) == [
        {"draft_template": "creative-synthesis-v2", "essay_template": "essay-llm-v1",
         "evaluation_template": "quality-eval-v1", "evaluation_llm": "sonnet-4"},
        {"draft_template": "gwern_original", "essay_template": "essay-copy-v1",
         "evaluation_template": "quality-eval-v1", "evaluation_llm": "sonnet-4"},
    ]
    rows = expand_design(load_spec(fixtures / "dual_llm_cartesian"))
    combos = [(r["draft_template"], r["essay_template"], r["essay_llm"], r["draft_template_replicate"]) for r in rows]
    assert combos == [
        ("creative-synthesis-v2", "essay-llm-v1", "sonnet-4", "1"),
        ("creative-synthesis-v2", "essay-llm-v1", "sonnet-4", "2"),
        ("application-implementation-v2", "essay-copy-v1", "sonnet-4", "1"),
        ("application-implementation-v2", "essay-copy-v1", "sonnet-4", "2"),
    ]


def test_creative_alignment_tuple_gives_528_rows() -> None:
    evals = [f"eval-{i}" for i in range(11)]
    doc = spec(
        {"combo_id": ["c1", "c2", "c3"], "evaluation_template": evals, "evaluation_llm": ["gemini_25_pro"],
         "evaluation_replicate": ["1", "2"], "essay_replicate": ["1", "2"]},
        {"tuples": {
            "draft_essay_alignment": {"axes": ["draft_template", "essay_template"],
                                      "items": [["cs-v10", "cs-v10"], ["cs-v7", "parsed-from-links-v1"]]},
            "generation_alignment": {"axes": ["draft_llm", "essay_llm"],
                                     "items": [["gemini_25_pro", "gemini_25_pro"], ["deepseek_r1_p", "deepseek_r1_p"]]},
        }},
        ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm"],
    )
    rows = rows_of(doc)
    assert len(rows) == 528
    assert {(r["draft_template"], r["essay_template"]) for r in rows} == {
        ("cs-v10", "cs-v10"),
        ("cs-v7", "parsed-from-links-v1"),
    }
    assert all(r["draft_llm"] == r["essay_llm"] for r in rows)


def test_cartesian_order_follows_axis_order_and_dedupes_levels() -> None:
    rows = rows_of(spec({"a": ["x", "y", "x"], "b": ["1", "2"]}, order=["b"]))
    assert rows == [{"b": "1", "a": "x"}, {"b": "2", "a": "x"}, {"b": "1", "a": "y"}, {"b": "2", "a": "y"}]


# -- subset ------------------------------------------------------------------------------------


def test_subset_keeps_axis_order_and_ignores_unknown_keep_values() -> None:
    rows = rows_of(spec({"a": ["x", "y", "z"]}, {"subsets": {"a": ["z", "x", "nope"]}}))
    assert [r["a"] for r in rows] == ["x", "z"]


def test_subset_that_removes_everything_is_an_error() -> None:
    ctx = expand_error(spec({"a": ["x"]}, {"subsets": {"a": ["y"]}}))
    assert ctx["key"] == "rules.subsets.a"
    assert ctx["value"] == ["y"]


def test_subset_of_unknown_axis_is_an_error() -> None:
    ctx = expand_error(spec({"a": ["x"]}, {"subsets": {"zz": ["x"]}}))
    assert ctx["key"] == "rules.subsets.zz"
    assert ctx["value"] == "zz"


# -- tie ---------------------------------------------------------------------------------------


def test_tie_with_new_name_intersects_and_fills_every_member() -> None:
    doc = spec(
        {"draft_llm": ["m3", "m1", "m2"], "n": ["1"], "essay_llm": ["m2", "m3"]},
        {"ties": {"llm": ["draft_llm", "essay_llm"]}},
    )
    rows = rows_of(doc)
    assert rows == [
        {"llm": "m3", "draft_llm": "m3", "essay_llm": "m3", "n": "1"},
        {"llm": "m2", "draft_llm": "m2", "essay_llm": "m2", "n": "1"},
    ]


def test_tie_onto_a_member_name_keeps_its_slot_and_adds_no_column() -> None:
    doc = spec({"a": ["x", "y"], "n": ["1", "2"], "b": ["y", "x"]}, {"ties": {"b": {"axes": ["a", "b"]}}})
    rows = rows_of(doc)
    # b stays after n in the axis order, so n varies slowest; values follow a's order
    assert rows == [
        {"n": "1", "b": "x", "a": "x"}, {"n": "1", "b": "y", "a": "y"},
        {"n": "2", "b": "x", "a": "x"}, {"n": "2", "b": "y", "a": "y"},
    ]


def test_rules_may_use_a_tied_away_name() -> None:
    doc = spec({"a": ["x", "y", "z"], "b": ["x", "y"]}, {"ties": {"t": ["a", "b"]}, "subsets": {"a": ["y"]}})
    assert rows_of(doc) == [{"t": "y", "a": "y", "b": "y"}]


def test_axis_consumed_after_a_tie_is_reported_under_the_written_name() -> None:
    doc = spec({"a": ["x"], "b": ["x"], "c": ["1"]}, {
        "ties": {"t": ["a", "b"]},
        "pairs": {"p": {"left": "t", "right": "c", "allowed": [["x", "1"]]}},
        "subsets": {"a": ["x"]},
    })
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.subsets.a"
    assert ctx["value"] == "a"
    assert ctx["tied_into"] == "t"


def test_tie_with_empty_intersection_is_an_error() -> None:
    ctx = expand_error(spec({"a": ["x"], "b": ["y"]}, {"ties": {"t": ["a", "b"]}}))
    assert ctx["key"] == "rules.ties.t"
    assert ctx["value"] == ["a", "b"]


def test_tie_name_may_not_collide_with_another_axis() -> None:
    ctx = expand_error(spec({"a": ["x"], "b": ["x"], "c": ["x"]}, {"ties": {"c": ["a", "b"]}}))
    assert ctx["key"] == "rules.ties.c"
    assert ctx["value"] == "c"


def test_tie_cannot_join_a_pair_axis() -> None:
    doc = spec({"a": ["x"], "b": ["y"], "c": ["x"]},
               {"pairs": {"p": {"left": "a", "right": "b", "allowed": [["x", "y"]]}}, "ties": {"t": ["p", "c"]}})
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.ties.t"
    assert ctx["value"] == "p"


# -- pair --------------------------------------------------------------------------------------


def test_pair_restricts_combinations_and_replaces_both_sides() -> None:
    doc = spec({"n": ["1", "2"], "t": ["t1", "t2"], "m": ["m1", "m2"]},
               {"pairs": {"tm": {"left": "t", "right": "m", "allowed": [["t2", "m1"], ["t1", "m2"], ["t2", "m1"]]}}})
    rows = rows_of(doc, shuffle_seed=None)
    assert [(r["n"], r["t"], r["m"]) for r in rows] == [
        ("1", "t2", "m1"), ("1", "t1", "m2"), ("2", "t2", "m1"), ("2", "t1", "m2"),
    ]
    assert all("tm" not in r for r in rows)


def test_pair_inserted_at_the_earlier_side() -> None:
    doc = spec({"m": ["m1", "m2"], "n": ["1", "2"], "t": ["t1"]},
               {"pairs": {"tm": {"left": "t", "right": "m", "allowed": [["t1", "m1"], ["t1", "m2"]]}}})
    # the pair takes m's (first) slot, so it varies slowest
    assert [(r["m"], r["n"]) for r in rows_of(doc)] == [("m1", "1"), ("m1", "2"), ("m2", "1"), ("m2", "2")]


@pytest.mark.parametrize("balance", ["left", "right", "both"])
def test_balanced_pairs_pass(balance: str) -> None:
    allowed = [["t1", "m1"], ["t1", "m2"], ["t2", "m1"], ["t2", "m2"]]
    doc = spec({"t": ["t1", "t2"], "m": ["m1", "m2"]},
               {"pairs": {"p": {"left": "t", "right": "m", "allowed": allowed, "balance": balance}}})
    assert len(rows_of(doc)) == 4


@pytest.mark.parametrize(
    ("balance", "counts"), [("left", [["t1", 2], ["t2", 1]]), ("both", [["t1", 2], ["t2", 1]]), ("right", None)]
)
def test_unbalanced_pairs_fail(balance: str, counts: list | None) -> None:
    allowed = [["t1", "m1"], ["t1", "m2"], ["t2", "m1"]]
    doc = spec({"t": ["t1", "t2"], "m": ["m1", "m2"]},
               {"pairs": {"p": {"left": "t", "right": "m", "allowed": allowed, "balance": balance}}})
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.pairs.p.balance"
    assert ctx["value"] == balance
    assert ctx["counts"] == (counts or [["m1", 2], ["m2", 1]])


def test_pair_value_outside_domain_is_an_error() -> None:
    doc = spec({"t": ["t1"], "m": ["m1"]}, {"pairs": {"p": {"left": "t", "right": "m", "allowed": [["t1", "m9"]]}}})
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.pairs.p.allowed"
    assert ctx["value"] == ["t1", "m9"]
    assert ctx["axis"] == "m"


def test_pair_before_the_tuple_it_names_is_an_error() -> None:
    doc = spec({"d": ["d1"]}, {
        "pairs": {"p": {"left": "d", "right": "bundle", "allowed": [["d1", ["e1", "l1"]]]}},
        "tuples": {"bundle": {"axes": ["e", "l"], "items": [["e1", "l1"]]}},
    })
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.pairs.p"
    assert ctx["value"] == "bundle"


def test_pair_name_may_not_reuse_an_axis_name() -> None:
    doc = spec(
        {"t": ["t1"], "m": ["m1"], "x": ["1"]}, {"pairs": {"x": {"left": "t", "right": "m", "allowed": [["t1", "m1"]]}}}
    )
    assert expand_error(doc)["value"] == "x"


def test_pair_of_a_pair_expands_all_the_way() -> None:
    doc = spec({"a": ["a1", "a2"], "b": ["b1"], "c": ["c1", "c2"]}, {"pairs": {
        "ab": {"left": "a", "right": "b", "allowed": [["a1", "b1"], ["a2", "b1"]]},
        "abc": {"left": "ab", "right": "c", "allowed": [[["a1", "b1"], "c2"], [["a2", "b1"], "c1"]]},
    }}, ["a", "b", "c"])
    assert rows_of(doc) == [{"a": "a1", "b": "b1", "c": "c2"}, {"a": "a2", "b": "b1", "c": "c1"}]


# -- tuple -------------------------------------------------------------------------------------


def test_tuple_items_dedupe_and_expand_to_their_axes() -> None:
    doc = spec(
        {"n": ["1"]},
        {"tuples": {"t": {"axes": ["e", "l"], "items": [["e1", "l1"], ["e2", "l1"], ["e1", "l1"]]}}},
        ["e", "l", "n"],
    )
    assert rows_of(doc) == [{"e": "e1", "l": "l1", "n": "1"}, {"e": "e2", "l": "l1", "n": "1"}]


def test_tuple_items_must_lie_in_a_subset_domain() -> None:
    doc = spec(
        {"n": ["1"]},
        {"subsets": {"e": ["e1"]}, "tuples": {"t": {"axes": ["e", "l"], "items": [["e1", "l1"], ["e2", "l1"]]}}},
    )
    ctx = expand_error(doc)
    assert ctx["key"] == "rules.tuples.t.items"
    assert ctx["value"] == ["e2", "l1"]
    assert ctx["axis"] == "e"


# -- ordering, shuffling, purity, speed -----------------------------------------------------------


def test_columns_follow_field_order() -> None:
    rows = rows_of({"axes": {"a": ["x"], "b": ["y"], "c": ["z"]}, "output": {"field_order": ["c", "a", "b"]}})
    assert list(rows[0]) == ["c", "a", "b"]


def test_shuffle_seed_is_deterministic_and_matches_random_shuffle() -> None:
    loaded = load_spec(FIXTURES / "replicates_tuple")
    plain = expand_design(loaded)
    shuffled = expand_design(loaded, shuffle_seed=7)
    assert shuffled == expand_design(loaded, shuffle_seed=7)
    assert shuffled != plain
    assert shuffled != expand_design(loaded, shuffle_seed=8)
    expected = list(plain)
    Random(7).shuffle(expected)  # the earlier system shuffles the product list with this call
    assert shuffled == expected


def test_expanding_twice_gives_the_same_rows() -> None:
    loaded = load_spec(FIXTURES / "pair_with_tuple_side")
    assert expand_design(loaded) == expand_design(loaded)


def test_expand_errors_name_the_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("axes: {a: [x]}\nrules: {subsets: {a: [y]}}\noutput: {field_order: [a]}\n")
    with pytest.raises(SpecDslError) as info:
        expand_design(load_spec(path))
    assert info.value.ctx["path"] == str(path)


def big_design() -> dict[str, Any]:
    """Every rule kind at once, 20,000 rows (bench/spec_expand.py times it)."""
    return spec(
        {
            "a": [f"a{i}" for i in range(50)],
            "b": [f"b{i}" for i in range(10)],
            "c": [f"c{i}" for i in range(10)],
            "r": ["1", "2", "3", "4", "5"],
            "x": ["v1", "v2"],
            "y": ["v2", "v1"],
        },
        {
            "pairs": {
                "bc": {"left": "b", "right": "c", "allowed": [[f"b{i}", f"c{j}"] for i in range(10) for j in range(2)]}
            },
            "ties": {"xy": ["x", "y"]},
            "tuples": {"t": {"axes": ["e", "l"], "items": [["e1", "l1"], ["e2", "l2"]]}},
        },
        ["a", "b", "c"],
    )


def test_twenty_thousand_rows_from_every_rule_kind() -> None:
    rows = expand_design(load_spec(big_design()), shuffle_seed=1)
    assert len(rows) == 50 * 20 * 5 * 2 * 2 == 20000  # a, bc pairs, r, tie xy, tuple t
    assert len({tuple(r.values()) for r in rows}) == 20000
