"""Prompt rendering: StrictUndefined, coded errors, LLM text never evaluated, real templates render."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import catalogs
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths
from daydreaming.render import render_template

FIXTURE_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "1_raw"


def template(paths: Paths, stage: str, template_id: str, text: str) -> Path:
    path = paths.template_file(stage, template_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


def test_renders_variables(paths: Paths) -> None:
    template(paths, "evaluation", "score", "RESPONSE:\n{{ response }}\nSCORE: X")
    assert render_template(paths, "evaluation", "score", {"response": "an essay"}) == "RESPONSE:\nan essay\nSCORE: X"


def test_undefined_variable_is_refused(paths: Paths) -> None:
    path = template(paths, "essay", "needs-draft", "Draft: {{ draft_block }}\nLinks: {{ links_block }}\n")
    with pytest.raises(DDError) as info:
        render_template(paths, "essay", "needs-draft", {"links_block": "text"})
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.ctx["reason"] == "missing_template_vars"
    assert err.ctx["stage"] == "essay"
    assert err.ctx["template_id"] == "needs-draft"
    assert err.ctx["path"] == str(path)
    assert err.ctx["available"] == ["links_block"]


def test_undefined_attribute_is_refused(paths: Paths) -> None:
    template(paths, "draft", "attr", "{% for c in concepts %}{{ c.title }}{% endfor %}")
    with pytest.raises(DDError) as info:
        render_template(paths, "draft", "attr", {"concepts": [{"name": "A", "content": "a"}]})
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx["reason"] == "missing_template_vars"


def test_missing_template_file(paths: Paths) -> None:
    with pytest.raises(DDError) as info:
        render_template(paths, "draft", "not-there", {"concepts": []})
    err = info.value
    assert err.code is Err.MISSING_TEMPLATE
    assert err.ctx["stage"] == "draft"
    assert err.ctx["template_id"] == "not-there"
    assert err.ctx["path"] == str(paths.template_file("draft", "not-there"))


def test_template_syntax_error_names_the_file(paths: Paths) -> None:
    path = template(paths, "draft", "broken", "line one\n{% for c in concepts %}\nno end")
    with pytest.raises(DDError) as info:
        render_template(paths, "draft", "broken", {"concepts": []})
    assert info.value.code is Err.MISSING_TEMPLATE
    assert info.value.ctx["reason"] == "template_syntax_error"
    assert info.value.ctx["path"] == str(path)
    assert info.value.ctx["template_id"] == "broken"


EVIL = "Before {{ evil }} and {% raw %}raw{% endraw %} {% for x in y %}{{ x }}{% endfor %} {# c #} after"


@pytest.mark.parametrize(("stage", "text", "key"), [
    ("essay", "<<{{ links_block }}>>", "links_block"),
    ("evaluation", "<<{{ response }}>>", "response"),
])
def test_llm_text_is_inserted_verbatim(paths: Paths, stage: str, text: str, key: str) -> None:
    template(paths, stage, "t", text)
    assert render_template(paths, stage, "t", {key: EVIL}) == f"<<{EVIL}>>"


def test_concept_content_is_inserted_verbatim(paths: Paths) -> None:
    template(paths, "draft", "t", "{% for c in concepts %}[{{ c.name }}|{{ c.content }}]{% endfor %}")
    out = render_template(paths, "draft", "t", {"concepts": [{"name": "{{ n }}", "content": EVIL}]})
    assert out == f"[{{{{ n }}}}|{EVIL}]"


def test_no_autoescape(paths: Paths) -> None:
    template(paths, "evaluation", "t", "{{ response }}")
    assert render_template(paths, "evaluation", "t", {"response": "<essay-idea> & \"q\""}) == "<essay-idea> & \"q\""


def test_loop_last(paths: Paths) -> None:
    template(paths, "draft", "list",
             "- {% for concept in concepts %}{{ concept.name }}{% if not loop.last %}\n- {% endif %}{% endfor %}")
    concepts = [{"name": n, "content": ""} for n in ("A", "B", "C")]
    assert render_template(paths, "draft", "list", {"concepts": concepts}) == "- A\n- B\n- C"


def test_raw_block_in_template_is_kept_literally(paths: Paths) -> None:
    template(paths, "draft", "raw", "{% raw %}Pair {{i}}: {A, B}{% endraw %}\n{{ concepts|length }}")
    assert render_template(paths, "draft", "raw", {"concepts": [1, 2]}) == "Pair {{i}}: {A, B}\n2"


def test_default_whitespace_is_kept(paths: Paths) -> None:
    template(paths, "draft", "ws", "{% for c in concepts %}\n{{ c.name }}\n{% endfor %}\n")
    out = render_template(paths, "draft", "ws", {"concepts": [{"name": "A"}, {"name": "B"}]})
    assert out == "\nA\n\nB\n"  # no trim_blocks/lstrip_blocks; trailing newline dropped (jinja default)


def test_edited_template_is_rerendered(paths: Paths) -> None:
    import os

    path = template(paths, "evaluation", "t", "v1 {{ response }}")
    assert render_template(paths, "evaluation", "t", {"response": "x"}) == "v1 x"
    path.write_text("v2 {{ response }}", encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert render_template(paths, "evaluation", "t", {"response": "x"}) == "v2 x"


# --- every catalog template renders with the variables its stage gets ------------------------
# On the project's catalogs in the earlier system's formats (loop.last, {% raw %}, links_block and
# draft_block, response), and on the earlier system's real catalogs under -m shared.

CATALOGS = [
    pytest.param("fixtures", id="fixture-catalogs"),
    pytest.param("shared", id="real-catalogs", marks=pytest.mark.shared),
]


@pytest.fixture(scope="module", params=CATALOGS)
def real_paths(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    raw = (
        FIXTURE_RAW
        if request.param == "fixtures"
        else request.getfixturevalue("shared") / "reference" / "daydreaming-1_raw"
    )
    root = tmp_path_factory.mktemp("real") / "data"
    root.mkdir()
    (root / "1_raw").symlink_to(raw, target_is_directory=True)
    return Paths(root)


def _template_ids(paths: Paths, stage: str) -> list[str]:
    return sorted(p.stem for p in paths.template_file(stage, "x").parent.glob("*.txt"))


def test_every_llm_catalog_row_has_a_template_file(real_paths: Paths) -> None:
    for stage in ("draft", "essay", "evaluation"):
        on_disk = set(_template_ids(real_paths, stage))
        llm_rows = {tid for tid, t in catalogs.templates(real_paths, stage).items() if t.generator == "llm"}
        assert llm_rows <= on_disk, stage


@pytest.mark.shared
def test_real_catalogs_template_counts(shared: Path) -> None:
    templates = shared / "reference" / "daydreaming-1_raw" / "templates"
    assert {stage: len(list((templates / stage).glob("*.txt"))) for stage in ("draft", "essay", "evaluation")} == {
        "draft": 22, "essay": 7, "evaluation": 21}


@pytest.fixture(scope="module")
def draft_concepts(real_paths: Paths) -> list[dict[str, str]]:
    known = catalogs.concepts(real_paths)
    chosen = list(known)[:3]
    return [{"name": known[c].name, "content": known[c].content("paragraph")} for c in chosen]


def test_every_draft_template_renders(real_paths: Paths, draft_concepts: list[dict[str, str]]) -> None:
    for template_id in _template_ids(real_paths, "draft"):
        out = render_template(real_paths, "draft", template_id, {"concepts": draft_concepts})
        for concept in draft_concepts:
            assert concept["name"] in out, template_id
        source = real_paths.template_file("draft", template_id).read_text(encoding="utf-8")
        if "concept.content" in source:
            for concept in draft_concepts:
                assert concept["content"] in out, template_id


DRAFT_TEXT = "PARENT-DRAFT-TEXT {{ not_a_var }} <essay-idea stage=\"1\">idea</essay-idea>"


def test_every_essay_template_renders(real_paths: Paths) -> None:
    for template_id in _template_ids(real_paths, "essay"):
        out = render_template(real_paths, "essay", template_id, {"draft_block": DRAFT_TEXT, "links_block": DRAFT_TEXT})
        assert DRAFT_TEXT in out, template_id


ESSAY_TEXT = "PARENT-ESSAY-TEXT {% if x %} SCORE: 9"


def test_every_evaluation_template_renders(real_paths: Paths) -> None:
    for template_id in _template_ids(real_paths, "evaluation"):
        out = render_template(real_paths, "evaluation", template_id, {"response": ESSAY_TEXT})
        assert ESSAY_TEXT in out, template_id


# --- an empty prompt is refused before anything is written or called ---------------------------

@pytest.mark.parametrize(("text", "values"), [
    ("", {}),
    ("  \n\t\n", {}),
    ("{% if false %}never{% endif %}\n", {}),
    ("{{ response }}", {"response": "  \n"}),
])
def test_empty_prompt_is_refused(paths: Paths, text: str, values: dict) -> None:
    path = template(paths, "evaluation", "blank", text)
    with pytest.raises(DDError) as info:
        render_template(paths, "evaluation", "blank", values)
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert (err.ctx["reason"], err.ctx["stage"], err.ctx["template_id"], err.ctx["path"]) == (
        "empty_prompt", "evaluation", "blank", str(path))
    assert str(path) in err.ctx["fix"]


def test_a_prompt_with_text_is_not_empty(paths: Paths) -> None:
    template(paths, "evaluation", "short", "{{ response }}")
    assert render_template(paths, "evaluation", "short", {"response": " x "}) == " x "


def test_template_that_is_not_utf8_is_refused_with_its_offset(paths: Paths) -> None:
    path = template(paths, "draft", "latin1", "")
    path.write_bytes(b"Caf" + b"\xe9 {{ concepts|length }}\n")
    with pytest.raises(DDError) as info:
        render_template(paths, "draft", "latin1", {"concepts": []})
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert (err.ctx["reason"], err.ctx["path"], err.ctx["offset"], err.ctx["line"], err.ctx["byte"]) == (
        "invalid_utf8", str(path), 3, 1, "e9")
    assert (err.ctx["stage"], err.ctx["template_id"]) == ("draft", "latin1") and str(path) in err.ctx["fix"]
