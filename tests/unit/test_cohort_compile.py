"""compile_cohort: spec -> membership.csv, manifest.json and write-once metadata.json, all or nothing.

Runs on a temp data root built from a copy of the repo's demo catalogs, so the real readers,
id functions and store are exercised end to end.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from daydreaming import ids
from daydreaming.cli import main as cli_main
from daydreaming.cohort.compile import compile_cohort
from daydreaming.errors import DDError, Err
from daydreaming.membership import MEMBERSHIP_COLUMNS
from daydreaming.paths import Paths

REPO_DATA = Path(__file__).resolve().parents[2] / "data"

COMBOS = ["combo_v1_54b355e4d77d", "combo_v1_5c955f3e5aa8"]
AXES: dict[str, list[str]] = {
    "combo_id": COMBOS,
    "draft_template": ["pair-sketch", "tagged-idea"],
    "draft_llm": ["writer"],
    "essay_template": ["short-essay", "copy-draft"],
    "essay_llm": ["writer"],
    "evaluation_template": ["novelty-score", "clarity-score"],
    "evaluation_llm": ["judge"],
    "evaluation_replicate": ["1", "2"],
}


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    root = tmp_path / "data"
    shutil.copytree(REPO_DATA / "1_raw", root / "1_raw")
    shutil.copy(REPO_DATA / "combo_mappings.csv", root / "combo_mappings.csv")
    return Paths(root)


def write_spec(paths: Paths, cohort: str, axes: dict[str, list[str]] | None = None) -> None:
    axes = AXES if axes is None else axes
    spec = paths.cohort_spec(cohort)
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(yaml.safe_dump({"axes": axes, "output": {"field_order": list(axes)}}, sort_keys=False),
                    encoding="utf-8")


def read_membership(paths: Paths, cohort: str) -> list[dict[str, str]]:
    with open(paths.membership_csv(cohort), newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == MEMBERSHIP_COLUMNS
        return list(reader)


def read_meta(paths: Paths, stage: str, gen_id: str) -> dict[str, Any]:
    return json.loads(paths.metadata_path(stage, gen_id).read_text(encoding="utf-8"))


def expected_ids(axes: dict[str, list[str]]) -> dict[str, set[str]]:
    """The gen_ids of a cartesian spec, computed straight from daydreaming.ids."""
    drafts, essays, evaluations = set(), set(), set()
    for combo, d_tpl, d_llm in itertools.product(axes["combo_id"], axes["draft_template"], axes["draft_llm"]):
        draft = ids.deterministic_gen_id("draft", ids.draft_signature(combo, d_tpl, d_llm, 1))
        drafts.add(draft)
        for e_tpl in axes["essay_template"]:
            essay = ids.deterministic_gen_id("essay", ids.essay_signature(draft, e_tpl, 1))
            essays.add(essay)
            for v_tpl, v_llm, rep in itertools.product(axes["evaluation_template"], axes["evaluation_llm"],
                                                       axes.get("evaluation_replicate", ["1"])):
                evaluations.add(ids.deterministic_gen_id("evaluation", ids.evaluation_signature(essay, v_tpl, v_llm,
                                                                                                rep)))
    return {"draft": drafts, "essay": essays, "evaluation": evaluations}


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>", p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


# --- a successful compile ---------------------------------------------------------------------

def test_counts_per_stage(paths: Paths) -> None:
    write_spec(paths, "demo")
    result = compile_cohort(paths, "demo")
    assert result == {"cohort_id": "demo", "rows": 32, "draft": 4, "essay": 8, "evaluation": 32}
    rows = read_membership(paths, "demo")
    assert [r["stage"] for r in rows] == ["draft"] * 4 + ["essay"] * 8 + ["evaluation"] * 32
    assert len({(r["stage"], r["gen_id"]) for r in rows}) == 44


def test_gen_ids_are_the_deterministic_ids(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    rows = read_membership(paths, "demo")
    by_stage = {s: {r["gen_id"] for r in rows if r["stage"] == s} for s in ("draft", "essay", "evaluation")}
    assert by_stage == expected_ids(AXES)
    builders = {
        "draft": lambda r: ids.draft_signature(r["combo_id"], r["template_id"], r["llm_model_id"], r["replicate"]),
        "essay": lambda r: ids.essay_signature(r["parent_gen_id"], r["template_id"], r["replicate"]),
        "evaluation": lambda r: ids.evaluation_signature(r["parent_gen_id"], r["template_id"], r["llm_model_id"],
                                                         r["replicate"]),
    }
    for row in rows:
        assert row["gen_id"] == ids.deterministic_gen_id(row["stage"], builders[row["stage"]](row))
        assert row["origin_cohort_id"] == "demo"


def test_parents_link_the_three_stages(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    rows = read_membership(paths, "demo")
    members = {(r["stage"], r["gen_id"]) for r in rows}
    for row in rows:
        if row["stage"] == "draft":
            assert row["parent_gen_id"] == ""
        else:
            parent_stage = {"essay": "draft", "evaluation": "essay"}[row["stage"]]
            assert (parent_stage, row["parent_gen_id"]) in members


def test_essay_id_ignores_the_essay_llm(paths: Paths) -> None:
    write_spec(paths, "with-writer")
    compile_cohort(paths, "with-writer")
    write_spec(paths, "with-judge", {**AXES, "essay_llm": ["judge"]})
    compile_cohort(paths, "with-judge")
    write_spec(paths, "with-both", {**AXES, "essay_llm": ["writer", "judge"]})
    result = compile_cohort(paths, "with-both")
    assert result["essay"] == 8 and result["rows"] == 64

    def essays(cohort: str) -> set[str]:
        return {r["gen_id"] for r in read_membership(paths, cohort) if r["stage"] == "essay"}

    assert essays("with-writer") == essays("with-judge") == essays("with-both") == expected_ids(AXES)["essay"]


def test_copy_essays_get_mode_copy(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    essays = [r for r in read_membership(paths, "demo") if r["stage"] == "essay"]
    assert {r["template_id"]: r["mode"] for r in essays} == {"short-essay": "llm", "copy-draft": "copy"}
    for row in essays:
        assert read_meta(paths, "essay", row["gen_id"])["mode"] == row["mode"]
    for row in read_membership(paths, "demo"):
        if row["stage"] != "essay":
            assert row["mode"] == "llm"


@pytest.mark.parametrize("flag", ["--shuffle-seed", "--seed"])  # --seed: the old name, still accepted
def test_compile_command_shuffles_the_membership_order(paths: Paths, tmp_path: Path, flag: str) -> None:
    write_spec(paths, "c")
    assert cli_main(["compile", "--data-root", str(paths.data_root), "c", flag, "3"]) == 0
    shuffled = read_membership(paths, "c")
    other = Paths(tmp_path / "other")
    shutil.copytree(paths.data_root / "1_raw", other.data_root / "1_raw")
    shutil.copy(paths.data_root / "combo_mappings.csv", other.data_root / "combo_mappings.csv")
    write_spec(other, "c")
    compile_cohort(other, "c", shuffle_seed=3)
    assert shuffled == read_membership(other, "c")
    compile_cohort(other, "c")
    unshuffled = read_membership(other, "c")
    assert shuffled != unshuffled and sorted(map(str, shuffled)) == sorted(map(str, unshuffled))


def test_manifest_has_the_earlier_systems_shape(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    manifest = json.loads(paths.manifest_json("demo").read_text(encoding="utf-8"))
    assert manifest == {
        "combos": sorted(COMBOS),
        "templates": {"draft": ["pair-sketch", "tagged-idea"], "essay": ["copy-draft", "short-essay"],
                      "evaluation": ["clarity-score", "novelty-score"]},
        "llms": {"generation": ["writer"], "evaluation": ["judge"]},
        "replication": {"draft": 1, "essay": 1, "evaluation": 2},
    }


def test_metadata_is_written_for_every_row(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    rows = read_membership(paths, "demo")
    for row in rows:
        meta = read_meta(paths, row["stage"], row["gen_id"])
        expected = {"stage": row["stage"], "gen_id": row["gen_id"], "origin_cohort_id": "demo", "mode": row["mode"],
                    "template_id": row["template_id"], "llm_model_id": row["llm_model_id"],
                    "replicate": int(row["replicate"])}
        if row["stage"] == "draft":
            expected["combo_id"] = row["combo_id"]  # combo_id: draft only
        else:
            expected["parent_gen_id"] = row["parent_gen_id"]
        assert meta == expected
        assert isinstance(meta["replicate"], int)
    on_disk = {(p.parent.parent.name, p.parent.name) for p in paths.gens_root.rglob("metadata.json")}
    assert on_disk == {(r["stage"], r["gen_id"]) for r in rows}
    # only metadata is written: prompts and answers are the workflow's job
    assert {p.name for p in paths.gens_root.rglob("*") if p.is_file()} == {"metadata.json"}


def test_existing_metadata_is_not_overwritten(paths: Paths) -> None:
    draft_id = ids.deterministic_gen_id("draft", ids.draft_signature(COMBOS[0], "pair-sketch", "writer", 1))
    existing = {"stage": "draft", "gen_id": draft_id, "origin_cohort_id": "older-cohort", "mode": "llm",
                "template_id": "pair-sketch", "combo_id": COMBOS[0], "llm_model_id": "writer", "replicate": 1,
                "hand_note": "keep me"}
    path = paths.metadata_path("draft", draft_id)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(existing, indent=2), encoding="utf-8")
    before = path.read_bytes()
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    assert path.read_bytes() == before
    assert draft_id in {r["gen_id"] for r in read_membership(paths, "demo")}  # same signature: id reused


def test_recompile_is_stable_and_keeps_metadata(paths: Paths) -> None:
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    first = paths.membership_csv("demo").read_bytes()
    gens = snapshot(paths.gens_root)
    compile_cohort(paths, "demo")
    assert paths.membership_csv("demo").read_bytes() == first
    assert snapshot(paths.gens_root) == gens


def test_id_held_by_another_signature_moves_to_collision_one(paths: Paths) -> None:
    signature = ids.draft_signature(COMBOS[0], "pair-sketch", "writer", 1)
    taken = ids.deterministic_gen_id("draft", signature)
    squatter = {"stage": "draft", "gen_id": taken, "mode": "llm", "template_id": "some-other-template",
                "combo_id": COMBOS[0], "llm_model_id": "writer", "replicate": 1}
    path = paths.metadata_path("draft", taken)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(squatter), encoding="utf-8")
    before = path.read_bytes()
    write_spec(paths, "demo")
    compile_cohort(paths, "demo")
    rows = read_membership(paths, "demo")
    moved = ids.deterministic_gen_id("draft", signature, 1)
    assert moved.endswith("-1")
    assert taken not in {r["gen_id"] for r in rows}
    assert moved in {r["gen_id"] for r in rows if r["stage"] == "draft"}
    assert {r["parent_gen_id"] for r in rows if r["stage"] == "essay" and r["combo_id"] == COMBOS[0]
            and r["parent_gen_id"].endswith("-1")} == {moved}
    assert read_meta(paths, "draft", moved)["template_id"] == "pair-sketch"
    assert path.read_bytes() == before


# --- refusals ---------------------------------------------------------------------------------

def test_unknown_catalog_values_are_one_error_listing_all(paths: Paths) -> None:
    axes = {
        "combo_id": [COMBOS[0], "combo_v1_000000000000"],
        "draft_template": ["pair-sketch", "ghost-draft"],
        "draft_llm": ["writer", "ghost-llm"],
        "essay_template": ["short-essay", "ghost-essay"],
        "essay_llm": ["writer", "ghost-writer"],
        "evaluation_template": ["novelty-score", "ghost-eval", "another-ghost"],
        "evaluation_llm": ["judge", "ghost-judge"],
    }
    write_spec(paths, "bad", axes)
    with pytest.raises(DDError) as info:
        compile_cohort(paths, "bad")
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.ctx["reason"] == "catalog_values_missing"
    assert err.ctx["missing"] == {
        "combo_id": ["combo_v1_000000000000"],
        "draft_template": ["ghost-draft"],
        "draft_llm": ["ghost-llm"],
        "essay_template": ["ghost-essay"],
        "essay_llm": ["ghost-writer"],
        "evaluation_template": ["another-ghost", "ghost-eval"],
        "evaluation_llm": ["ghost-judge"],
    }
    assert err.ctx["reasons"] == sorted([
        "catalog_combos_missing", "catalog_draft_templates_missing", "catalog_generation_llms_missing",
        "catalog_essay_templates_missing", "catalog_essay_llms_missing", "catalog_evaluation_templates_missing",
        "catalog_evaluation_llms_missing"])
    assert not paths.membership_csv("bad").exists()
    assert not paths.manifest_json("bad").exists()
    assert not paths.gens_root.exists()


def test_essay_llm_none_is_accepted(paths: Paths) -> None:
    write_spec(paths, "copy-only", {**AXES, "essay_template": ["copy-draft"], "essay_llm": ["None"]})
    assert compile_cohort(paths, "copy-only")["essay"] == 4


def test_missing_spec(paths: Paths) -> None:
    with pytest.raises(DDError) as info:
        compile_cohort(paths, "nospec")
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "cohort_spec_required"
    assert info.value.ctx["path"] == str(paths.cohort_spec("nospec"))


# --- a failed compile changes nothing ---------------------------------------------------------

NEW_DRAFT = ids.draft_signature(COMBOS[0], "tagged-idea", "writer", 1)


def _unknown_value(paths: Paths) -> dict[str, list[str]]:
    return {**AXES, "evaluation_template": ["novelty-score", "clarity-score", "ghost-eval"]}


def _copy_draft_template(paths: Paths) -> dict[str, list[str]]:
    csv_path = paths.templates_csv("draft")
    csv_path.write_text(csv_path.read_text(encoding="utf-8") + "copy-d,Copy D,copies nothing,,copy\n",
                        encoding="utf-8")
    st = csv_path.stat()
    os.utime(csv_path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    return {**AXES, "draft_template": ["pair-sketch", "tagged-idea", "copy-d"]}


def _five_collisions(paths: Paths) -> dict[str, list[str]]:
    for index in range(5):
        gen_id = ids.deterministic_gen_id("draft", NEW_DRAFT, index)
        path = paths.metadata_path("draft", gen_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"stage": "draft", "gen_id": gen_id, "template_id": f"other-{index}",
                                    "combo_id": COMBOS[0], "llm_model_id": "writer", "replicate": 1}),
                        encoding="utf-8")
    return dict(AXES)


def _corrupt_metadata(paths: Paths) -> dict[str, list[str]]:
    path = paths.metadata_path("draft", ids.deterministic_gen_id("draft", NEW_DRAFT))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"stage": "draft",\n oops', encoding="utf-8")
    return dict(AXES)


def _invalid_spec(paths: Paths) -> dict[str, list[str]]:
    return {**AXES, "draft_template": []}


def _combo_of(paths: Paths, combo_id: str) -> list[str]:
    lines = paths.combo_mappings_csv.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[2] for line in lines if line.startswith(combo_id + ",")]


def _concept_missing_from_catalog(paths: Paths) -> dict[str, list[str]]:
    gone = _combo_of(paths, COMBOS[1])[0]
    lines = paths.concepts_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    paths.concepts_csv.write_text("".join(line for line in lines if not line.startswith(gone + ",")), encoding="utf-8")
    _bump(paths.concepts_csv)
    return {**AXES, "combo_id": [COMBOS[1]]}


def _concept_description_missing(paths: Paths) -> dict[str, list[str]]:
    concept = _combo_of(paths, COMBOS[1])[0]
    for level in ("sentence", "paragraph", "article"):
        paths.concept_description(level, concept).unlink(missing_ok=True)
    _bump(paths.concepts_csv)  # descriptions are cached with the concepts catalog
    return {**AXES, "combo_id": [COMBOS[1]]}


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.mark.parametrize(
    ("breaker", "code", "reason"),
    [
        (_unknown_value, Err.INVALID_CONFIG, "catalog_values_missing"),
        (_copy_draft_template, Err.INVALID_CONFIG, "no_parent_stage"),
        (_five_collisions, Err.INVALID_CONFIG, "deterministic_id_collision"),
        (_corrupt_metadata, Err.PARSER_FAILURE, "invalid_json"),
        (_invalid_spec, Err.INVALID_CONFIG, "invalid_spec"),
        (_concept_missing_from_catalog, Err.DATA_MISSING, "concepts_missing_for_combo"),
        (_concept_description_missing, Err.DATA_MISSING, "concept_description_missing"),
    ],
    ids=["unknown_value", "copy_draft", "five_collisions", "corrupt_metadata", "invalid_spec", "concept_missing",
         "description_missing"],
)
def test_failed_compile_leaves_membership_and_store_untouched(paths: Paths, breaker, code: Err, reason: str) -> None:
    # a first, smaller cohort compiles fine
    write_spec(paths, "demo", {**AXES, "draft_template": ["pair-sketch"]})
    compile_cohort(paths, "demo")
    # the user widens the spec (new drafts would get their metadata.json) but something is wrong
    axes = breaker(paths)
    write_spec(paths, "demo", axes)
    membership_before = paths.membership_csv("demo").read_bytes()
    manifest_before = paths.manifest_json("demo").read_bytes()
    gens_before = snapshot(paths.gens_root)
    with pytest.raises(DDError) as info:
        compile_cohort(paths, "demo")
    assert info.value.code is code
    assert info.value.ctx["reason"] == reason
    assert paths.membership_csv("demo").read_bytes() == membership_before
    assert paths.manifest_json("demo").read_bytes() == manifest_before
    assert snapshot(paths.gens_root) == gens_before
    assert not [p for p in paths.cohort_dir("demo").iterdir() if p.name.startswith(".tmp-")]


def test_missing_concept_and_description_are_named(paths: Paths) -> None:
    concept = _combo_of(paths, COMBOS[1])[0]
    write_spec(paths, "demo", _concept_description_missing(paths))
    with pytest.raises(DDError) as info:
        compile_cohort(paths, "demo")
    looked = [str(paths.concept_description(level, concept)) for level in ("paragraph", "sentence")]
    assert info.value.ctx["missing"] == {concept: looked}
    _concept_missing_from_catalog(paths)
    with pytest.raises(DDError) as info:
        compile_cohort(paths, "demo")
    ctx = info.value.ctx
    assert (ctx["missing"], ctx["path"]) == ({COMBOS[1]: [concept]}, str(paths.concepts_csv))
    assert not paths.gens_root.exists() and not paths.membership_csv("demo").exists()
