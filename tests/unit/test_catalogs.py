"""Catalog readers: coded CSV errors, the concept fallback chain, combos, and the real catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import catalogs
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths

FIXTURE_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "1_raw"

TEMPLATE_HEADER = "template_id,template_name,description,parser,generator\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


# --- CSV errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["draft", "essay", "evaluation"])
def test_legacy_active_column_is_rejected_in_templates(paths: Paths, stage: str) -> None:
    path = write(paths.templates_csv(stage), "template_id,template_name,description,active,parser\n"
                                             "t1,T1,desc,true,\n")
    with pytest.raises(DDError) as info:
        catalogs.load_templates(paths, stage)
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.ctx["reason"] == "legacy_column_rejected"
    assert err.ctx["path"] == str(path)
    assert err.ctx["line"] == 1
    assert err.ctx["column"] == 4
    assert err.ctx["field"] == "active"


def test_legacy_active_column_is_rejected_in_concepts(paths: Paths) -> None:
    path = write(paths.concepts_csv, "concept_id,active,name\nc1,true,C One\n")
    with pytest.raises(DDError) as info:
        catalogs.load_concepts(paths)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "legacy_column_rejected"
    assert (info.value.ctx["path"], info.value.ctx["line"], info.value.ctx["column"], info.value.ctx["field"]) == (
        str(path), 1, 2, "active")


@pytest.mark.parametrize(
    ("writer", "loader", "header", "missing"),
    [
        (lambda p: p.templates_csv("draft"), lambda p: catalogs.load_templates(p, "draft"),
         "id,template_name,description,parser,generator\nt1,T,d,,llm\n", ["template_id"]),
        (lambda p: p.llm_models_csv, catalogs.load_models, "id,provider,display_name\nm1,x,M\n", ["model"]),
        (lambda p: p.concepts_csv, catalogs.load_concepts, "concept,name\nc1,C\n", ["concept_id"]),
        (lambda p: p.combo_mappings_csv, catalogs.load_combos, "combo,version,concept\nc,v1,x\n",
         ["combo_id", "concept_id"]),
    ],
)
def test_missing_required_column(paths: Paths, writer, loader, header: str, missing: list[str]) -> None:
    path = write(writer(paths), header)
    with pytest.raises(DDError) as info:
        loader(paths)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "required_column_missing"
    assert info.value.ctx["path"] == str(path)
    assert info.value.ctx["missing"] == missing


def test_missing_catalog_file_is_data_missing(paths: Paths) -> None:
    with pytest.raises(DDError) as info:
        catalogs.load_models(paths)
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx["reason"] == "csv_file_missing"
    assert info.value.ctx["path"] == str(paths.llm_models_csv)


def test_row_with_too_many_fields_names_line_and_column(paths: Paths) -> None:
    path = write(paths.templates_csv("draft"),
                 TEMPLATE_HEADER + "ok,Ok,fine,,llm\n\nbad,Bad,has, an unquoted comma,,llm\nlater,L,d,,llm\n")
    with pytest.raises(DDError) as info:
        catalogs.load_templates(paths, "draft")
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert err.ctx["reason"] == "csv_parse_error"
    assert err.ctx["path"] == str(path)
    assert err.ctx["line"] == 4  # the blank line 3 still counts: it is the line a user opens
    assert err.ctx["column"] == 6  # the first field beyond the 5-column header


def test_row_with_too_few_fields_names_line_and_column(paths: Paths) -> None:
    path = write(paths.llm_models_csv, "id,model,provider,display_name,specialization\n"
                                       "a,x/a,x,A,general\nb,x/b,x\n")
    with pytest.raises(DDError) as info:
        catalogs.load_models(paths)
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert err.ctx["path"] == str(path)
    assert err.ctx["line"] == 3
    assert err.ctx["column"] == 4  # the first missing field


def template_files(paths: Paths, stage: str, *template_ids: str) -> None:
    for template_id in template_ids:
        write(paths.template_file(stage, template_id), "{{ response }}\n")


def test_quoted_fields_with_commas_load(paths: Paths) -> None:
    template_files(paths, "evaluation", "n1")
    write(paths.templates_csv("evaluation"),
          TEMPLATE_HEADER + 'n1,N1,"checks a, b, and c",in_last_line,llm\n')
    template = catalogs.load_templates(paths, "evaluation")["n1"]
    assert template.description == "checks a, b, and c"
    assert template.parser == "in_last_line"


def test_catalog_saved_with_bom_and_crlf_loads(paths: Paths) -> None:
    paths.llm_models_csv.parent.mkdir(parents=True)
    paths.llm_models_csv.write_bytes(b"\xef\xbb\xbfid,model,provider\r\nwriter,offline/writer,offline\r\n")
    models = catalogs.load_models(paths)
    assert list(models) == ["writer"]
    assert models["writer"].model == "offline/writer"
    assert models["writer"].provider == "offline"


def test_template_defaults(paths: Paths) -> None:
    template_files(paths, "essay", "a", "c")  # b copies its parent: no file needed
    write(paths.templates_csv("essay"), TEMPLATE_HEADER + "a,A,d,,\nb,B,d,,COPY\nc,C,d,identity,llm\n")
    loaded = catalogs.load_templates(paths, "essay")
    assert (loaded["a"].parser, loaded["a"].generator) == ("identity", "llm")
    assert loaded["b"].generator == "copy"
    assert loaded["c"].parser == "identity"


def test_unknown_parser_names_file_line_and_column(paths: Paths) -> None:
    template_files(paths, "essay", "a", "c")
    path = write(paths.templates_csv("essay"), TEMPLATE_HEADER + "a,A,d,,\nc,C,d,custom,llm\n")
    with pytest.raises(DDError) as info:
        catalogs.load_templates(paths, "essay")
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "unknown_parser" and info.value.ctx["parser"] == "custom"
    assert (info.value.ctx["path"], info.value.ctx["line"], info.value.ctx["column"]) == (str(path), 3, 4)


def test_template_row_without_its_file_names_file_and_line(paths: Paths) -> None:
    template_files(paths, "draft", "a")
    path = write(paths.templates_csv("draft"), TEMPLATE_HEADER + "a,A,d,,llm\nghost,G,d,,llm\n")
    with pytest.raises(DDError) as info:
        catalogs.load_templates(paths, "draft")
    assert info.value.code is Err.MISSING_TEMPLATE
    assert info.value.ctx["reason"] == "template_file_missing"
    assert (info.value.ctx["path"], info.value.ctx["line"], info.value.ctx["column"]) == (str(path), 3, 1)
    assert info.value.ctx["template_file"] == str(paths.template_file("draft", "ghost"))


def test_invalid_generator_and_price_name_their_column(paths: Paths) -> None:
    template_files(paths, "essay", "a")
    path = write(paths.templates_csv("essay"), TEMPLATE_HEADER + "a,A,d,,llm\nb,B,d,,paste\n")
    with pytest.raises(DDError) as info:
        catalogs.load_templates(paths, "essay")
    assert info.value.ctx["reason"] == "invalid_catalog_row" and info.value.ctx["field"] == "generator"
    assert info.value.ctx["path"] == str(path)
    assert (info.value.ctx["line"], info.value.ctx["column"], info.value.ctx["value"]) == (3, 5, "paste")
    models = write(paths.llm_models_csv, "id,model,prompt_usd_per_mtok\nm,x/m,-1\n")
    with pytest.raises(DDError) as info:
        catalogs.load_models(paths)
    assert info.value.ctx["field"] == "prompt_usd_per_mtok" and info.value.ctx["path"] == str(models)
    assert (info.value.ctx["line"], info.value.ctx["column"]) == (2, 3)


# --- concepts ---------------------------------------------------------------------------------

@pytest.fixture
def concept_paths(paths: Paths) -> Paths:
    write(paths.concepts_csv, "concept_id,name\nall-levels,All Levels\nno-article,No Article\n"
                              "sentence-only,Sentence Only\nname-only,Name Only\nblank-paragraph,Blank Paragraph\n")
    raw = paths.raw_dir / "concepts"
    write(raw / "descriptions-article" / "all-levels.txt", "  ARTICLE all\n")
    write(raw / "descriptions-paragraph" / "all-levels.txt", "PARAGRAPH all\n")
    write(raw / "descriptions-sentence" / "all-levels.txt", "SENTENCE all")
    write(raw / "descriptions-paragraph" / "no-article.txt", "PARAGRAPH no-article")
    write(raw / "descriptions-sentence" / "no-article.txt", "SENTENCE no-article")
    write(raw / "descriptions-sentence" / "sentence-only.txt", "SENTENCE only\n")
    write(raw / "descriptions-paragraph" / "blank-paragraph.txt", "   \n")
    write(raw / "descriptions-sentence" / "blank-paragraph.txt", "SENTENCE blank-paragraph")
    return paths


@pytest.mark.parametrize(
    ("concept", "level", "expected"),
    [
        ("all-levels", "article", "ARTICLE all"),
        ("all-levels", "paragraph", "PARAGRAPH all"),
        ("all-levels", "sentence", "SENTENCE all"),  # the requested level wins when present
        ("no-article", "article", "PARAGRAPH no-article"),  # level -> paragraph
        ("no-article", "sentence", "SENTENCE no-article"),
        ("sentence-only", "article", "SENTENCE only"),  # -> sentence
        ("sentence-only", "paragraph", "SENTENCE only"),
        ("name-only", "paragraph", "Name Only"),  # -> the name
        ("name-only", "article", "Name Only"),
        ("blank-paragraph", "paragraph", "SENTENCE blank-paragraph"),  # empty text does not count
    ],
)
def test_concept_content_fallback_chain(concept_paths: Paths, concept: str, level: str, expected: str) -> None:
    concepts = catalogs.load_concepts(concept_paths)
    assert concepts[concept].content(level) == expected


def test_concept_descriptions_are_stripped_and_keyed_by_level(concept_paths: Paths) -> None:
    concepts = catalogs.load_concepts(concept_paths)
    assert concepts["all-levels"].descriptions == {"sentence": "SENTENCE all", "paragraph": "PARAGRAPH all",
                                                   "article": "ARTICLE all"}
    assert concepts["name-only"].descriptions == {}
    assert concepts["name-only"].name == "Name Only"


# --- combos -----------------------------------------------------------------------------------

COMBO_HEADER = "combo_id,version,concept_id,description_level,k_max,created_at\n"


def test_combos_grouped_in_csv_row_order(paths: Paths) -> None:
    write(paths.combo_mappings_csv, COMBO_HEADER
          + "combo_v1_bbb,v1,zeta,sentence,3,2025-01-01T00:00:00\n"
          + "combo_v1_aaa,v1,mid,paragraph,2,2025-01-01T00:00:00\n"
          + "combo_v1_bbb,v1,alpha,paragraph,3,2025-01-01T00:00:00\n"
          + "combo_v1_aaa,v1,beta,paragraph,2,2025-01-01T00:00:00\n"
          + "combo_v1_bbb,v1,mu,sentence,3,2025-01-01T00:00:00\n")
    combos = catalogs.load_combos(paths)
    assert list(combos) == ["combo_v1_aaa", "combo_v1_bbb"]  # sorted by combo_id
    assert combos["combo_v1_bbb"].concept_ids == ("zeta", "alpha", "mu")  # row order, not sorted
    assert combos["combo_v1_aaa"].concept_ids == ("mid", "beta")
    assert combos["combo_v1_bbb"].description_level == "sentence"  # the first row's level
    assert combos["combo_v1_aaa"].description_level == "paragraph"


def test_combo_level_defaults_to_paragraph(paths: Paths) -> None:
    write(paths.combo_mappings_csv, "combo_id,concept_id,description_level\nc1,x,\nc1,y,article\n")
    assert catalogs.load_combos(paths)["c1"].description_level == "paragraph"
    write(paths.combo_mappings_csv, "combo_id,concept_id\nc2,x\n")
    assert catalogs.load_combos(paths)["c2"].description_level == "paragraph"


def test_combo_mappings_missing(paths: Paths) -> None:
    with pytest.raises(DDError) as info:
        catalogs.load_combos(paths)
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx == {"reason": "combo_mappings_missing", "path": str(paths.combo_mappings_csv)}


@pytest.mark.parametrize("body", ["", "\n", ",,,,,\n"])
def test_combo_mappings_empty(paths: Paths, body: str) -> None:
    write(paths.combo_mappings_csv, COMBO_HEADER + body)
    with pytest.raises(DDError) as info:
        catalogs.load_combos(paths)
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx == {"reason": "combo_mappings_empty", "path": str(paths.combo_mappings_csv)}


def test_cached_catalog_sees_an_edited_file(paths: Paths) -> None:
    import os

    csv_path = write(paths.llm_models_csv, "id,model\na,x/a\n")
    assert set(catalogs.models(paths)) == {"a"}
    write(csv_path, "id,model\na,x/a\nb,x/b\n")
    stat = csv_path.stat()
    os.utime(csv_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert set(catalogs.models(paths)) == {"a", "b"}


def test_template_for_unknown_template(paths: Paths) -> None:
    template_files(paths, "evaluation", "known")
    write(paths.templates_csv("evaluation"), TEMPLATE_HEADER + "known,K,d,in_last_line,llm\n")
    assert catalogs.template_for(paths, "evaluation", "known").parser == "in_last_line"
    with pytest.raises(DDError) as info:
        catalogs.template_for(paths, "evaluation", "ghost")
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx["reason"] == "template_not_found"
    assert info.value.ctx["template_id"] == "ghost"
    assert info.value.ctx["stage"] == "evaluation"


# --- catalogs in the earlier system's formats (tests/fixtures/catalogs) ------------------------------------

def _linked(tmp_path_factory: pytest.TempPathFactory, raw: Path) -> Paths:
    root = tmp_path_factory.mktemp("catalogs") / "data"
    root.mkdir()
    (root / "1_raw").symlink_to(raw, target_is_directory=True)
    return Paths(root)


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    return _linked(tmp_path_factory, FIXTURE_RAW)


def test_fixture_draft_templates(fixture_paths: Paths) -> None:
    drafts = catalogs.templates(fixture_paths, "draft")
    assert list(drafts) == ["link-list", "tagged-thread-v2", "thinking-then-essay", "strict-essay-block",
                            "names-only", "names_only", "literal-braces"]
    assert {t.generator for t in drafts.values()} == {"llm"}  # "LLM" too: case does not matter
    parsers = {tid: t.parser for tid, t in drafts.items()}
    assert parsers == {"link-list": "identity", "tagged-thread-v2": "essay_idea_last",
                       "thinking-then-essay": "essay_block_lenient", "strict-essay-block": "essay_block",
                       "names-only": "identity", "names_only": "identity",
                       "literal-braces": "identity"}  # a blank or whitespace-only cell: identity
    assert drafts["link-list"].description == "Free-form links between the concepts, one per line"
    for tid in drafts:
        assert fixture_paths.template_file("draft", tid).is_file()


def test_fixture_essay_templates_copy_has_no_file(fixture_paths: Paths) -> None:
    essays = catalogs.templates(fixture_paths, "essay")
    assert {tid: t.generator for tid, t in essays.items()} == {
        "notes-to-essay": "llm", "draft-to-essay-v2": "llm", "final-idea-copy": "copy"}
    for tid, t in essays.items():
        assert fixture_paths.template_file("essay", tid).is_file() == (t.generator == "llm")


def test_fixture_evaluation_templates(fixture_paths: Paths) -> None:
    evaluations = catalogs.templates(fixture_paths, "evaluation")
    assert {tid: t.parser for tid, t in evaluations.items()} == {
        "novelty-0-9": "in_last_line", "rigor-final-score": "final_verdict", "plain-judgement": "identity"}
    assert evaluations["novelty-0-9"].description.startswith("Rates novelty, with the last line")
    # a template file no catalog row names is simply unused
    assert fixture_paths.template_file("evaluation", "retired-scale").is_file()
    assert "retired-scale" not in evaluations


def test_fixture_models(fixture_paths: Paths) -> None:
    models = catalogs.models(fixture_paths)
    assert list(models) == ["fast-writer", "deep-writer", "judge_v1", "local_judge"]
    assert models["fast-writer"].model == "vendor-a/writer-small:free"
    assert models["deep-writer"].display_name == "Writer Large, long context"  # a quoted comma
    assert models["local_judge"].provider == "" and models["local_judge"].specialization == ""


def test_fixture_concepts_and_the_fallback_chain(fixture_paths: Paths) -> None:
    concepts = catalogs.concepts(fixture_paths)
    assert len(concepts) == 7
    assert concepts["coral-reef"].name == concepts["coral-reef-v1"].name == "Coral Reef"
    assert {cid: sorted(c.descriptions) for cid, c in concepts.items()} == {
        "coral-reef": ["article", "paragraph", "sentence"], "coral-reef-v1": ["paragraph"],
        "beekeeping": ["paragraph", "sentence"], "beekeeping-v2": ["sentence"], "origami": ["paragraph"],
        "cartography": ["paragraph"], "tessellation": []}
    reef = concepts["coral-reef"]
    assert reef.content("article").startswith("Coral reefs are colonies")
    assert reef.content("sentence") == "Reefs are built by the animals that live on them."
    # requested level, then paragraph, then sentence, then the name
    assert concepts["origami"].content("article") == concepts["origami"].descriptions["paragraph"]
    assert concepts["beekeeping-v2"].content("paragraph") == concepts["beekeeping-v2"].descriptions["sentence"]
    assert concepts["tessellation"].content("paragraph") == "Tessellation"
    assert "\n\nEvery map" in concepts["cartography"].content("paragraph")  # blank lines inside are kept


# --- the earlier system's real catalogs (../shared) ---------------------------------------------

@pytest.fixture(scope="module")
def real_paths(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Paths:
    return _linked(tmp_path_factory, shared / "reference" / "daydreaming-1_raw")


@pytest.mark.shared
def test_real_draft_templates(real_paths: Paths) -> None:
    drafts = catalogs.templates(real_paths, "draft")
    assert len(drafts) == 22
    assert {t.generator for t in drafts.values()} == {"llm"}
    parsers = sorted(t.parser for t in drafts.values())
    assert parsers.count("identity") == 18
    assert {tid for tid, t in drafts.items() if t.parser == "essay_block_lenient"} == {
        "creative-synthesis-v6", "creative-synthesis-v7"}
    assert {tid for tid, t in drafts.items() if t.parser == "essay_idea_last"} == {
        "deliberate-rolling-thread-v2", "deliberate-rolling-thread-v3"}
    assert {"recursive_construction", "recursive-construction"} <= set(drafts)
    for tid in drafts:
        assert real_paths.template_file("draft", tid).is_file()


@pytest.mark.shared
def test_real_essay_templates(real_paths: Paths) -> None:
    essays = catalogs.templates(real_paths, "essay")
    assert len(essays) == 8
    assert {tid for tid, t in essays.items() if t.generator == "copy"} == {"parsed-from-links-v1"}
    assert {t.parser for t in essays.values()} == {"identity"}
    for tid, t in essays.items():
        assert real_paths.template_file("essay", tid).is_file() == (t.generator == "llm")


@pytest.mark.shared
def test_real_evaluation_templates(real_paths: Paths) -> None:
    evaluations = catalogs.templates(real_paths, "evaluation")
    assert len(evaluations) == 17
    assert {t.parser for t in evaluations.values()} == {"in_last_line"}
    assert {t.generator for t in evaluations.values()} == {"llm"}
    assert evaluations["novel-elements-coverage-v1"].description.startswith("Checks coverage of novel elements, ")
    assert "Gemini research" in evaluations["gemini-prior-art-eval"].description
    for tid in evaluations:
        assert real_paths.template_file("evaluation", tid).is_file()


@pytest.mark.shared
def test_real_models(real_paths: Paths) -> None:
    models = catalogs.models(real_paths)
    assert len(models) == 24
    assert models["sonnet-4"].model == "anthropic/claude-sonnet-4"
    assert models["gemini_25_pro"].model == "google/gemini-2.5-pro"
    assert models["deepseek_r1_p"].model == "deepseek/deepseek-r1"
    assert models["deepseek_r1_f"].display_name == "DeepSeek R1 (Free)"


@pytest.mark.shared
def test_real_concepts(real_paths: Paths) -> None:
    concepts = catalogs.concepts(real_paths)
    assert len(concepts) == 18
    assert concepts["large-language-model-v1"].name == "Large Language Model (LLM)"
    assert sum("paragraph" in c.descriptions for c in concepts.values()) == 18
    assert sum("sentence" in c.descriptions for c in concepts.values()) == 15
    assert {cid for cid, c in concepts.items() if "article" in c.descriptions} == {
        "combinatorial-search", "default-mode-network", "economic-innovation-models"}
    assert concepts["generate-and-test"].content("sentence") == concepts["generate-and-test"].descriptions["paragraph"]
