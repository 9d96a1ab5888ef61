"""Paths: the earlier system's on-disk layout (gens store, cohorts, catalogs); unsafe ids refused.

Every helper is checked against the earlier system's layout of the gens store, the cohorts and
the catalogs, so a store it wrote is found where it put it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import paths as P
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths

STAGES = ("draft", "essay", "evaluation")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("DAYDREAMING_DATA_ROOT", raising=False)
    monkeypatch.delenv("GEN_TEMPLATES_ROOT", raising=False)
    return monkeypatch


# --- the gens store ---------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_generation_files_follow_the_earlier_systems_layout(tmp_path: Path, stage: str) -> None:
    paths = Paths(tmp_path)
    gen_dir = tmp_path / "gens" / stage / "d_5ezrffv9uf3lr37d"
    assert paths.gens_root == tmp_path / "gens"
    assert paths.stage_dir(stage) == tmp_path / "gens" / stage
    assert paths.generation_dir(stage, "d_5ezrffv9uf3lr37d") == gen_dir
    assert paths.prompt_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "prompt.txt"
    assert paths.input_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "prompt.txt"  # the earlier system's name
    assert paths.raw_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "raw.txt"
    assert paths.parsed_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "parsed.txt"
    assert paths.metadata_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "metadata.json"
    assert paths.raw_metadata_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "raw_metadata.json"
    assert paths.parsed_metadata_path(stage, "d_5ezrffv9uf3lr37d") == gen_dir / "parsed_metadata.json"


def test_gen_files_are_the_earlier_systems_six_names() -> None:
    assert set(P.GEN_FILES) == {"prompt.txt", "raw.txt", "parsed.txt", "metadata.json", "raw_metadata.json",
                                "parsed_metadata.json"}


@pytest.mark.parametrize("name", P.GEN_FILES)
def test_gen_file_by_name(tmp_path: Path, name: str) -> None:
    assert Paths(tmp_path).gen_file("essay", "e_sq5klak2lljyyom", name) == (
        tmp_path / "gens" / "essay" / "e_sq5klak2lljyyom" / name)


@pytest.mark.parametrize("name", ["notes.txt", "../raw.txt", "", "RAW.TXT"])
def test_gen_file_refuses_unknown_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(DDError) as info:
        Paths(tmp_path).gen_file("draft", "d_x", name)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"reason": "unknown_gen_file", "name": name}


def test_collision_suffixed_ids_are_valid(tmp_path: Path) -> None:
    assert Paths(tmp_path).raw_path("draft", "d_3lmvqkgnqsit2o5l-1") == (
        tmp_path / "gens" / "draft" / "d_3lmvqkgnqsit2o5l-1" / "raw.txt")


# --- cohorts and catalogs ---------------------------------------------------------------------

def test_cohort_files_follow_the_earlier_systems_layout(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    cohort = tmp_path / "cohorts" / "best_novelty_all_evals"
    assert paths.cohorts_dir == tmp_path / "cohorts"
    assert paths.cohort_dir("best_novelty_all_evals") == cohort
    assert paths.cohort_spec_dir("best_novelty_all_evals") == cohort / "spec"
    assert paths.cohort_spec("best_novelty_all_evals") == cohort / "spec" / "config.yaml"
    assert paths.membership_csv("best_novelty_all_evals") == cohort / "membership.csv"
    assert paths.manifest_json("best_novelty_all_evals") == cohort / "manifest.json"
    assert paths.cohort_reports_dir("best_novelty_all_evals") == cohort / "reports"
    assert paths.cohort_dir("creative-synthesis-gap-v1") == tmp_path / "cohorts" / "creative-synthesis-gap-v1"


def test_catalog_files_follow_the_earlier_systems_layout(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    raw = tmp_path / "1_raw"
    assert paths.raw_dir == raw
    assert paths.concepts_csv == raw / "concepts_metadata.csv"
    assert paths.concept_description("paragraph", "default-mode-network") == (
        raw / "concepts" / "descriptions-paragraph" / "default-mode-network.txt")
    assert paths.llm_models_csv == raw / "llm_models.csv"
    assert paths.combo_mappings_csv == tmp_path / "combo_mappings.csv"  # not under 1_raw
    assert paths.templates_root == raw / "templates"
    for stage in STAGES:
        assert paths.templates_csv(stage) == raw / f"{stage}_templates.csv"
    assert paths.template_file("draft", "creative-synthesis-v10") == (
        raw / "templates" / "draft" / "creative-synthesis-v10.txt")
    assert paths.template_file("essay", "parsed-from-links-v1") == (
        raw / "templates" / "essay" / "parsed-from-links-v1.txt")
    assert paths.template_file("draft", "recursive_construction") == (
        raw / "templates" / "draft" / "recursive_construction.txt")


# --- roots from the environment --------------------------------------------------------------

def test_from_str_defaults_to_data(clean_env: pytest.MonkeyPatch) -> None:
    assert Paths.from_str().data_root == Path("data")
    assert Paths.from_str(None).data_root == Path("data")
    assert Paths.from_str("").data_root == Path("data")
    assert Paths.from_str().gens_root == Path("data") / "gens"
    assert Paths.from_str().templates_override is None


def test_from_str_uses_explicit_root(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Paths.from_str(str(tmp_path)).data_root == tmp_path
    assert Paths.from_str(tmp_path).data_root == tmp_path


def test_data_root_env_is_the_default(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("DAYDREAMING_DATA_ROOT", str(tmp_path / "elsewhere"))
    assert Paths.from_str().data_root == tmp_path / "elsewhere"
    assert Paths.from_str("").data_root == tmp_path / "elsewhere"
    assert Paths.from_str().metadata_path("draft", "d_x") == tmp_path / "elsewhere" / "gens" / "draft" / "d_x" / (
        "metadata.json")
    # an explicit root wins over the environment
    assert Paths.from_str(tmp_path / "explicit").data_root == tmp_path / "explicit"


def test_empty_data_root_env_falls_back_to_data(clean_env: pytest.MonkeyPatch) -> None:
    """``DAYDREAMING_DATA_ROOT=`` (exported but empty) means "not set", as an empty config value does."""
    clean_env.setenv("DAYDREAMING_DATA_ROOT", "")
    assert Paths.from_str().data_root == Path("data")
    assert Paths.from_str("").gens_root == Path("data") / "gens"


def test_templates_root_env_overrides_template_files(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("GEN_TEMPLATES_ROOT", str(tmp_path / "tpl"))
    paths = Paths.from_str(tmp_path / "data")
    assert paths.templates_root == tmp_path / "tpl"
    assert paths.template_file("evaluation", "novelty") == tmp_path / "tpl" / "evaluation" / "novelty.txt"
    # only the template text moves; the catalogs stay under the data root
    assert paths.templates_csv("evaluation") == tmp_path / "data" / "1_raw" / "evaluation_templates.csv"


def test_empty_templates_root_env_is_ignored(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("GEN_TEMPLATES_ROOT", "")
    assert Paths.from_str(tmp_path).templates_root == tmp_path / "1_raw" / "templates"


# --- refusals (before any path is built or touched) ------------------------------------------

def _nothing_created(root: Path) -> bool:
    return not root.exists() or not any(root.iterdir())


@pytest.mark.parametrize("stage", ["drafts", "Draft", "report", "", "../draft", "draft/", "prompt"])
def test_unknown_stage_is_refused(tmp_path: Path, stage: str) -> None:
    root = tmp_path / "data"
    paths = Paths(root)
    for call in (lambda: paths.stage_dir(stage), lambda: paths.generation_dir(stage, "d_x"),
                 lambda: paths.raw_path(stage, "d_x"), lambda: paths.templates_csv(stage),
                 lambda: paths.template_file(stage, "tpl"), lambda: paths.gen_pattern(stage, "raw.txt")):
        with pytest.raises(DDError) as info:
            call()
        assert info.value.code is Err.INVALID_CONFIG
        assert info.value.ctx["reason"] == "unsupported_stage"
        assert info.value.ctx["stage"] == stage
    assert _nothing_created(root)


@pytest.mark.parametrize(
    "gen_id",
    ["d_x/../../etc", "d_x/raw", "..", "../d_x", "D_5EZRFFV9UF3LR37D", "d_X", "", " ", "d x", "d_x\n", ".", "d_x.txt"],
)
def test_bad_gen_id_is_refused(tmp_path: Path, gen_id: str) -> None:
    root = tmp_path / "data"
    paths = Paths(root)
    for call in (lambda: paths.generation_dir("draft", gen_id), lambda: paths.prompt_path("draft", gen_id),
                 lambda: paths.raw_path("essay", gen_id), lambda: paths.metadata_path("evaluation", gen_id)):
        with pytest.raises(DDError) as info:
            call()
        assert info.value.code is Err.INVALID_CONFIG
        assert info.value.ctx["reason"] == "invalid_gen_id"
        assert info.value.ctx["gen_id"] == gen_id
    assert _nothing_created(root)


def test_non_string_gen_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DDError) as info:
        Paths(tmp_path).generation_dir("draft", None)  # type: ignore[arg-type]
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "invalid_gen_id"


@pytest.mark.parametrize("cohort", ["a/b", "../demo", "..", ".", "", "demo/", "/abs", "a\\b", "a..b", ".hidden",
                                    "-flag"])
def test_cohort_id_with_separators_is_refused(tmp_path: Path, cohort: str) -> None:
    paths = Paths(tmp_path / "data")
    for call in (lambda: paths.cohort_dir(cohort), lambda: paths.membership_csv(cohort),
                 lambda: paths.manifest_json(cohort), lambda: paths.cohort_spec(cohort)):
        with pytest.raises(DDError) as info:
            call()
        assert info.value.code is Err.INVALID_CONFIG
        assert info.value.ctx["reason"] == "invalid_cohort_id"
        assert info.value.ctx["cohort_id"] == cohort
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("template_id", ["../secret", "a/b", "..", "", "x/../../y", "a\\b"])
def test_template_id_with_separators_is_refused(tmp_path: Path, template_id: str) -> None:
    with pytest.raises(DDError) as info:
        Paths(tmp_path).template_file("draft", template_id)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "invalid_template_id"
    assert info.value.ctx["template_id"] == template_id


@pytest.mark.parametrize("concept_id", ["../x", "a/b", ""])
def test_concept_id_with_separators_is_refused(tmp_path: Path, concept_id: str) -> None:
    with pytest.raises(DDError) as info:
        Paths(tmp_path).concept_description("paragraph", concept_id)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "invalid_concept_id"


# --- workflow patterns ------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", P.GEN_FILES)
def test_gen_pattern_has_a_gen_id_wildcard(tmp_path: Path, stage: str, name: str) -> None:
    paths = Paths(tmp_path)
    pattern = paths.gen_pattern(stage, name)
    assert pattern == str(tmp_path / "gens" / stage / "{gen_id}" / name)
    assert pattern.format(gen_id="e_sq5klak2lljyyom") == str(paths.gen_file(stage, "e_sq5klak2lljyyom", name))


def test_gen_pattern_refuses_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(DDError) as info:
        Paths(tmp_path).gen_pattern("draft", "notes.txt")
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"reason": "unknown_gen_file", "name": "notes.txt"}


@pytest.mark.parametrize("name", ["membership.csv", "manifest.json"])
def test_cohort_pattern_has_a_cohort_wildcard(tmp_path: Path, name: str) -> None:
    paths = Paths(tmp_path)
    pattern = paths.cohort_pattern(name)
    assert pattern == str(tmp_path / "cohorts" / "{cohort}" / name)
    assert pattern.format(cohort="demo") == str(paths.cohort_dir("demo") / name)


def test_job_logs_live_under_the_data_root(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "data")
    assert paths.log_pattern("essay_parsed", "gen_id") == str(
        tmp_path / "data" / "logs" / "essay_parsed" / "{gen_id}.log"
    )
    with pytest.raises(DDError):
        paths.log_pattern("../escape", "gen_id")
