"""Prompt rendering: StrictUndefined, coded errors, LLM text never evaluated, real templates render."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming import catalogs
from daydreaming.errors import DDError, Err
from daydreaming.paths import Paths
from daydreaming.render import render_template

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_RAW = SHARED / "reference" / "daydreaming-1_raw"


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


# --- every real template renders with the variables its stage gets ----------------------------

@pytest.fixture(scope="module")
def real_paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    if not REAL_RAW.is_dir():
        pytest.fail(f"shared reference catalogs are required (looked in {REAL_RAW})")
    root = tmp_path_factory.mktemp("real") / "data"
    root.mkdir()
    (root / "1_raw").symlink_to(REAL_RAW, target_is_directory=True)
    return Paths(root)


def _real_template_ids(stage: str) -> list[str]:
    return sorted(p.stem for p in (REAL_RAW / "templates" / stage).glob("*.txt"))


def test_every_llm_catalog_row_has_a_template_file(real_paths: Paths) -> None:
    for stage in ("draft", "essay", "evaluation"):
        on_disk = set(_real_template_ids(stage))
        llm_rows = {tid for tid, t in catalogs.templates(real_paths, stage).items() if t.generator == "llm"}
        assert llm_rows <= on_disk, stage
    assert len(_real_template_ids("draft")) == 22
    assert len(_real_template_ids("essay")) == 7
    assert len(_real_template_ids("evaluation")) == 21


@pytest.fixture(scope="module")
def draft_concepts(real_paths: Paths) -> list[dict[str, str]]:
    known = catalogs.concepts(real_paths)
    chosen = ["default-mode-network", "economic-moat", "generate-and-test"]
    return [{"name": known[c].name, "content": known[c].content("paragraph")} for c in chosen]


@pytest.mark.parametrize("template_id", _real_template_ids("draft"))
def test_real_draft_template_renders(real_paths: Paths, draft_concepts: list[dict[str, str]], template_id: str) -> None:
    out = render_template(real_paths, "draft", template_id, {"concepts": draft_concepts})
    for concept in draft_concepts:
        assert concept["name"] in out
    source = real_paths.template_file("draft", template_id).read_text(encoding="utf-8")
    if "concept.content" in source:
        for concept in draft_concepts:
            assert concept["content"] in out


DRAFT_TEXT = "PARENT-DRAFT-TEXT {{ not_a_var }} <essay-idea stage=\"1\">idea</essay-idea>"


@pytest.mark.parametrize("template_id", _real_template_ids("essay"))
def test_real_essay_template_renders(real_paths: Paths, template_id: str) -> None:
    out = render_template(real_paths, "essay", template_id, {"draft_block": DRAFT_TEXT, "links_block": DRAFT_TEXT})
    assert DRAFT_TEXT in out


ESSAY_TEXT = "PARENT-ESSAY-TEXT {% if x %} SCORE: 9"


@pytest.mark.parametrize("template_id", _real_template_ids("evaluation"))
def test_real_evaluation_template_renders(real_paths: Paths, template_id: str) -> None:
    out = render_template(real_paths, "evaluation", template_id, {"response": ESSAY_TEXT})
    assert ESSAY_TEXT in out


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
    path.write_bytes("Caf".encode() + b"\xe9 {{ concepts|length }}\n")
    with pytest.raises(DDError) as info:
        render_template(paths, "draft", "latin1", {"concepts": []})
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert (err.ctx["reason"], err.ctx["path"], err.ctx["offset"], err.ctx["line"], err.ctx["byte"]) == (
        "invalid_utf8", str(path), 3, 1, "e9")
    assert (err.ctx["stage"], err.ctx["template_id"]) == ("draft", "latin1") and str(path) in err.ctx["fix"]
