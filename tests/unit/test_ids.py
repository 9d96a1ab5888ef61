"""Deterministic ids: the earlier system's formulas are a compatibility contract.

An existing store (``data/gens/<stage>/<gen_id>/``) and existing cohorts must keep resolving to
the same directories, so every published test vector is reproduced byte for byte.
"""

from __future__ import annotations

import pytest

from daydreaming import ids
from daydreaming.errors import DDError, Err

# --- combo ids --------------------------------------------------------------------------------

COMBO_VECTORS = [
    ("combo_v1_13c725cf02fa",
     ["dearth-ai-discoveries", "default-mode-network", "economic-moat", "generator-verifier-gap"], "paragraph", 4),
    ("combo_v1_85128e4e5ef3",
     ["dearth-ai-discoveries", "default-mode-network", "economic-innovation-models", "economic-moat",
      "generator-verifier-gap"], "paragraph", 5),
    ("combo_v1_f74195c24ea7",
     ["dearth-ai-discoveries", "default-mode-network", "economic-innovation-models", "economic-moat",
      "flywheel-effect"], "paragraph", 5),
]


@pytest.mark.parametrize(("expected", "concepts", "level", "k_max"), COMBO_VECTORS)
def test_combo_id_vectors(expected: str, concepts: list[str], level: str, k_max: int) -> None:
    assert ids.combo_id(concepts, level, k_max) == expected


@pytest.mark.parametrize(("expected", "concepts", "level", "k_max"), COMBO_VECTORS)
def test_combo_id_is_independent_of_concept_order(expected: str, concepts: list[str], level: str, k_max: int) -> None:
    assert ids.combo_id(list(reversed(concepts)), level, k_max) == expected
    assert ids.combo_id(iter(sorted(concepts, key=len)), level, k_max) == expected


def test_combo_id_depends_on_level_and_k_max() -> None:
    _, concepts, level, k_max = COMBO_VECTORS[0]
    base = ids.combo_id(concepts, level, k_max)
    assert ids.combo_id(concepts, "sentence", k_max) != base
    assert ids.combo_id(concepts, level, k_max + 1) != base
    assert ids.combo_id(concepts, level, "4") == base  # k_max is coerced with int()


# --- gen ids ----------------------------------------------------------------------------------

GEN_VECTORS = [
    ("draft", ("combo_v1_85128e4e5ef3", "creative-synthesis-v10", "gemini_25_pro", 1), "d_5ezrffv9uf3lr37d"),
    ("essay", ("d_5ezrffv9uf3lr37d", "creative-synthesis-v10", 1), "e_sq5klak2lljyyom"),
    ("essay", ("d_3cxfemmhegfzaguo", "creative-synthesis-v10", 1), "e_1cx6440bb5zj9466"),
    ("essay", ("d_1z2eobtuv71xs5az", "parsed-from-links-v1", 1), "e_4nqjjtqtnpxlljlz"),
    ("evaluation", ("e_sq5klak2lljyyom", "creativity-metrics-v2", "gemini_25_pro", 1), "v_4dbap39r41vq45o0"),
    ("draft", ("combo", "tpl", "model", 1), "d_5cucb6yezk5z03ri"),
]


@pytest.mark.parametrize(("stage", "parts", "expected"), GEN_VECTORS)
def test_gen_id_vectors_from_raw_signature(stage: str, parts: tuple, expected: str) -> None:
    assert ids.deterministic_gen_id(stage, parts) == expected


@pytest.mark.parametrize(("stage", "parts", "expected"), GEN_VECTORS)
def test_gen_id_vectors_through_signature_builders(stage: str, parts: tuple, expected: str) -> None:
    builder = {"draft": ids.draft_signature, "essay": ids.essay_signature, "evaluation": ids.evaluation_signature}
    assert ids.deterministic_gen_id(stage, builder[stage](*parts)) == expected


def test_fifteen_character_base36_is_not_padded() -> None:
    gen_id = ids.deterministic_gen_id("essay", ids.essay_signature("d_5ezrffv9uf3lr37d", "creative-synthesis-v10", 1))
    assert gen_id == "e_sq5klak2lljyyom"
    assert len(gen_id) == 17  # "e_" + 15 base36 characters
    assert len(gen_id.removeprefix("e_")) == 15


def test_collision_index_one_vector() -> None:
    signature = ids.draft_signature("combo", "tpl", "model", 1)
    assert ids.deterministic_gen_id("draft", signature, 1) == "d_3lmvqkgnqsit2o5l-1"
    assert ids.deterministic_gen_id("draft", signature, 0) == "d_5cucb6yezk5z03ri"


def test_every_stage_has_its_prefix() -> None:
    signature = ("a", "b", "c", 1)
    assert ids.deterministic_gen_id("draft", signature).startswith("d_")
    assert ids.deterministic_gen_id("essay", signature).startswith("e_")
    assert ids.deterministic_gen_id("evaluation", signature).startswith("v_")


@pytest.mark.parametrize("stage", ["Draft", " draft", "essays", "", "prompt"])
def test_deterministic_gen_id_refuses_unknown_or_unnormalised_stage(stage: str) -> None:
    with pytest.raises(DDError) as info:
        ids.deterministic_gen_id(stage, ("a", "b", "c", 1))
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "unsupported_stage"
    assert info.value.ctx["stage"] == stage


# --- normalisation -----------------------------------------------------------------------------

def test_components_are_stripped_and_lowercased() -> None:
    messy = ids.draft_signature("  Combo_V1_85128E4E5EF3\t", "Creative-Synthesis-V10 ", "\nGEMINI_25_PRO", " 1 ")
    assert messy == ("combo_v1_85128e4e5ef3", "creative-synthesis-v10", "gemini_25_pro", 1)
    assert ids.deterministic_gen_id("draft", messy) == "d_5ezrffv9uf3lr37d"


def test_essay_and_evaluation_signatures_normalise_too() -> None:
    assert ids.essay_signature(" D_5EZRFFV9UF3LR37D ", "Creative-Synthesis-V10", "1") == (
        "d_5ezrffv9uf3lr37d", "creative-synthesis-v10", 1)
    assert ids.deterministic_gen_id(
        "evaluation", ids.evaluation_signature("E_SQ5KLAK2LLJYYOM", " creativity-metrics-v2", "Gemini_25_Pro", 1)
    ) == "v_4dbap39r41vq45o0"


def test_essay_signature_has_no_llm() -> None:
    assert len(ids.essay_signature("d_x", "tpl", 1)) == 3


@pytest.mark.parametrize(
    ("builder", "args", "field"),
    [
        (ids.draft_signature, (None, "tpl", "model", 1), "combo_id"),
        (ids.draft_signature, ("combo", None, "model", 1), "template_id"),
        (ids.draft_signature, ("combo", "tpl", None, 1), "llm_model_id"),
        (ids.essay_signature, (None, "tpl", 1), "parent_gen_id"),
        (ids.evaluation_signature, ("e_x", "tpl", None, 1), "llm_model_id"),
    ],
)
def test_missing_component_is_refused(builder, args, field: str) -> None:
    with pytest.raises(DDError) as info:
        builder(*args)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"field": field, "reason": "missing"}


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_component_is_refused(blank: str) -> None:
    with pytest.raises(DDError) as info:
        ids.draft_signature("combo", blank, "model", 1)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"field": "template_id", "reason": "empty"}


# --- replicate coercion -----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("1", 1), (" 2 ", 2), (3, 3), ("12", 12)])
def test_replicate_is_coerced_to_int(value, expected: int) -> None:
    assert ids.draft_signature("c", "t", "m", value)[-1] == expected
    assert ids.essay_signature("d_x", "t", value)[-1] == expected
    assert ids.evaluation_signature("e_x", "t", "m", value)[-1] == expected


def test_replicate_string_and_int_give_the_same_id() -> None:
    as_int = ids.deterministic_gen_id("evaluation", ids.evaluation_signature("e_x", "t", "m", 2))
    as_str = ids.deterministic_gen_id("evaluation", ids.evaluation_signature("e_x", "t", "m", "2"))
    assert as_int == as_str
    assert as_int != ids.deterministic_gen_id("evaluation", ids.evaluation_signature("e_x", "t", "m", 1))


def test_replicate_defaults_to_one() -> None:
    assert ids.draft_signature("c", "t", "m") == ids.draft_signature("c", "t", "m", 1)


@pytest.mark.parametrize("value", ["abc", "1.5", None, "", [1]])
def test_replicate_that_is_not_an_int_is_refused(value) -> None:
    with pytest.raises(DDError) as info:
        ids.draft_signature("c", "t", "m", value)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["field"] == "replicate"
    assert info.value.ctx["reason"] == "not_an_int"
    assert info.value.ctx["value"] == value


@pytest.mark.parametrize(("value", "observed"), [(0, 0), ("0", 0), (-1, -1), ("-3", -3)])
def test_replicate_below_one_is_refused(value, observed: int) -> None:
    with pytest.raises(DDError) as info:
        ids.evaluation_signature("e_x", "t", "m", value)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"field": "replicate", "reason": "below_one", "value": observed}


# --- resolve_gen_id ----------------------------------------------------------------------------

SIG = ("combo", "tpl", "model", 1)
OTHER = ("combo", "tpl", "model", 2)


def _store(occupied: dict[str, tuple]):
    asked: list[str] = []

    def lookup(gen_id: str):
        asked.append(gen_id)
        return occupied.get(gen_id)

    return lookup, asked


def test_resolve_free_id_takes_index_zero() -> None:
    lookup, asked = _store({})
    assert ids.resolve_gen_id("draft", SIG, lookup) == "d_5cucb6yezk5z03ri"
    assert asked == ["d_5cucb6yezk5z03ri"]


def test_resolve_reuses_id_holding_the_same_signature() -> None:
    lookup, _ = _store({"d_5cucb6yezk5z03ri": SIG})
    assert ids.resolve_gen_id("draft", SIG, lookup) == "d_5cucb6yezk5z03ri"


def test_resolve_accepts_a_list_signature_from_json() -> None:
    lookup, _ = _store({"d_5cucb6yezk5z03ri": list(SIG)})
    assert ids.resolve_gen_id("draft", SIG, lookup) == "d_5cucb6yezk5z03ri"


def test_resolve_moves_to_collision_one_when_id_holds_another_signature() -> None:
    lookup, asked = _store({"d_5cucb6yezk5z03ri": OTHER})
    assert ids.resolve_gen_id("draft", SIG, lookup) == "d_3lmvqkgnqsit2o5l-1"
    assert asked == ["d_5cucb6yezk5z03ri", "d_3lmvqkgnqsit2o5l-1"]


def test_resolve_reuses_a_collision_slot_holding_the_same_signature() -> None:
    lookup, _ = _store({"d_5cucb6yezk5z03ri": OTHER, "d_3lmvqkgnqsit2o5l-1": SIG})
    assert ids.resolve_gen_id("draft", SIG, lookup) == "d_3lmvqkgnqsit2o5l-1"


def test_resolve_gives_up_after_five_collisions() -> None:
    occupied = {ids.deterministic_gen_id("draft", SIG, i): OTHER for i in range(5)}
    lookup, asked = _store(occupied)
    with pytest.raises(DDError) as info:
        ids.resolve_gen_id("draft", SIG, lookup)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "deterministic_id_collision"
    assert info.value.ctx["stage"] == "draft"
    assert info.value.ctx["signature"] == list(SIG)
    assert asked == [ids.deterministic_gen_id("draft", SIG, i) for i in range(5)]
    assert asked[4].endswith("-4")


def test_resolve_fifth_slot_is_still_used() -> None:
    occupied = {ids.deterministic_gen_id("draft", SIG, i): OTHER for i in range(4)}
    lookup, _ = _store(occupied)
    assert ids.resolve_gen_id("draft", SIG, lookup) == ids.deterministic_gen_id("draft", SIG, 4)


# --- signature_for -----------------------------------------------------------------------------

def test_signature_for_draft_metadata() -> None:
    meta = {"stage": "draft", "gen_id": "d_5ezrffv9uf3lr37d", "origin_cohort_id": "best_novelty_all_evals",
            "mode": "llm", "template_id": "creative-synthesis-v10", "combo_id": "combo_v1_85128e4e5ef3",
            "llm_model_id": "gemini_25_pro", "replicate": 1}
    signature = ids.signature_for("draft", meta)
    assert signature == ("combo_v1_85128e4e5ef3", "creative-synthesis-v10", "gemini_25_pro", 1)
    assert ids.deterministic_gen_id("draft", signature) == meta["gen_id"]


def test_signature_for_essay_ignores_its_llm() -> None:
    meta = {"parent_gen_id": "d_5ezrffv9uf3lr37d", "template_id": "creative-synthesis-v10",
            "llm_model_id": "gemini_25_pro", "replicate": 1}
    assert ids.signature_for("essay", meta) == ("d_5ezrffv9uf3lr37d", "creative-synthesis-v10", 1)
    assert ids.signature_for("essay", {**meta, "llm_model_id": "sonnet-4"}) == ids.signature_for("essay", meta)
    assert ids.deterministic_gen_id("essay", ids.signature_for("essay", meta)) == "e_sq5klak2lljyyom"


def test_signature_for_evaluation() -> None:
    meta = {"parent_gen_id": "e_sq5klak2lljyyom", "template_id": "creativity-metrics-v2",
            "llm_model_id": "gemini_25_pro", "replicate": "1"}
    assert ids.deterministic_gen_id("evaluation", ids.signature_for("evaluation", meta)) == "v_4dbap39r41vq45o0"


def test_signature_for_replicate_defaults_to_one_and_is_coerced() -> None:
    base = {"combo_id": "c", "template_id": "t", "llm_model_id": "m"}
    assert ids.signature_for("draft", base)[-1] == 1
    assert ids.signature_for("draft", {**base, "replicate": None})[-1] == 1
    assert ids.signature_for("draft", {**base, "replicate": "2"})[-1] == 2


@pytest.mark.parametrize("value", [0, "0", -1], ids=["int0", "str0", "int-1"])
def test_signature_for_refuses_replicate_below_one(value) -> None:
    """A metadata.json with replicate 0 must not pass for replicate 1 in the collision check."""
    with pytest.raises(DDError) as info:
        ids.signature_for("draft", {"combo_id": "c", "template_id": "t", "llm_model_id": "m", "replicate": value})
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["field"] == "replicate"
    assert info.value.ctx["reason"] == "below_one"


@pytest.mark.parametrize(("stage", "key"), [("essay", "essay_template"), ("evaluation", "evaluation_template")])
def test_signature_for_falls_back_to_stage_template_key(stage: str, key: str) -> None:
    meta = {"parent_gen_id": "x_parent", key: "Tpl", "llm_model_id": "m"}
    assert ids.signature_for(stage, meta)[1] == "tpl"
    assert ids.signature_for(stage, {**meta, "template_id": "main"})[1] == "main"  # template_id wins


def test_signature_for_normalises_so_case_differences_still_match() -> None:
    stored = {"combo_id": "COMBO", "template_id": " Tpl ", "llm_model_id": "Model", "replicate": 1}
    assert ids.signature_for("draft", stored) == SIG


def test_signature_for_missing_lineage_is_refused() -> None:
    with pytest.raises(DDError) as info:
        ids.signature_for("essay", {"template_id": "t"})
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"field": "parent_gen_id", "reason": "missing"}


def test_signature_for_unknown_stage_is_refused() -> None:
    with pytest.raises(DDError) as info:
        ids.signature_for("report", {"template_id": "t"})
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "unsupported_stage"
    assert info.value.ctx["stage"] == "report"
