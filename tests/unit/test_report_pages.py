"""index.html and the essay pages of the hand-made cohort: every essay link resolves to a page
that shows what the number rests on (essay, draft, each judge's full answer, score, model,
template, tokens, cost), values are escaped, pages of departed essays are removed. The layout in
a real browser is tests/workflow/test_report.py's."""

from __future__ import annotations

import re
from html import escape

import pytest
from report_fixtures import COHORT, DRAFTS, ESSAYS, OUTCOMES, answer_of, cost_of, eval_id, prompt_of

from daydreaming.paths import Paths
from daydreaming.report import freshness


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Paths:
    import report_fixtures

    from daydreaming.store import GensDataLayer

    paths = Paths(tmp_path_factory.mktemp("pages") / "data")
    report_fixtures.build(paths)
    GensDataLayer(paths).write_parsed("essay", "e1", "An <essay> & its <script>alert(1)</script>\n",
                                      GensDataLayer(paths).read_parsed_metadata("essay", "e1"))
    freshness.refresh_stale({"data_root": str(paths.data_root), "cohorts": [COHORT]})
    return paths


def _links(page: str) -> list[str]:
    return re.findall(r'href="(essays/[^"]+)"', page)


def test_every_essay_link_of_the_index_resolves_to_its_page(built):
    reports = built.cohort_reports_dir(COHORT)
    index = (reports / "index.html").read_text()
    links = _links(index)
    assert {link.split("/")[1].removesuffix(".html") for link in links} == set(ESSAYS)
    for link in links:
        assert (reports / link).is_file(), link
    assert index.count("<script") == 1  # the sort script only: the essay's markup is text
    # self-contained: figures inline, nothing fetched from elsewhere
    assert index.count("<svg") == 3 and not re.search(r'(src|href)="(https?:|//)|<link|<img', index)


def test_an_essay_page_shows_essay_draft_and_every_judges_answer(built):
    page = built.cohort_essay_page(COHORT, "e1").read_text()
    assert escape("An <essay> & its <script>alert(1)</script>") in page and "<script>alert" not in page
    assert "draft text" in page and DRAFTS["d1"][0] in page  # its draft, its combo
    judged = [(eval_id("e1", j, t, r), o) for (e, j, t), outcomes in OUTCOMES.items() if e == "e1"
              for r, o in enumerate(outcomes, start=1)]
    assert page.count("<details") == len(judged)
    for gen_id, outcome in judged:
        answer = answer_of(gen_id, outcome)
        assert escape(answer.strip()) in page  # the judge's full answer
        assert f"{len(prompt_of(gen_id))} + {len(answer)} tokens" in page
        cost = cost_of(gen_id.split("_")[2], answer)
        assert (f"${cost:.6f}" if cost is not None else "no price") in page
    assert 'href="../index.html"' in page


def test_a_failed_evaluation_is_shown_with_its_error(built):
    page = built.cohort_essay_page(COHORT, "e4").read_text()
    assert "provider_unavailable" in page and "(no answer stored)" in page  # the call that failed
    assert "truncated_raw" in page


def test_pages_of_essays_no_longer_in_the_cohort_are_removed(built):
    stray = built.cohort_essay_page(COHORT, "e_gone")
    stray.write_text("old")
    from daydreaming.report.build import read_scores
    from daydreaming.report.essays import write_essay_pages
    from daydreaming.report.generations import read_generations
    from daydreaming.store import GensDataLayer

    reports = built.cohort_reports_dir(COHORT)
    written = write_essay_pages(GensDataLayer(built), COHORT, read_generations(str(reports / "generations.csv")),
                                read_scores(str(reports / "aggregated_scores.csv")))
    assert written == len(ESSAYS) and not stray.exists()


def test_the_front_page_fragment_links_essay_pages_by_absolute_address(built):
    fragment = built.cohort_report(COHORT, "overview.html").read_text()
    assert 'id="dd-front"' in fragment and "max-width:none" in fragment
    page = built.cohort_essay_page(COHORT, "e1").absolute().as_uri()
    assert f'href="{page}"' in fragment


def test_a_page_directory_is_replaced_whole_or_not_at_all(tmp_path):
    from daydreaming.errors import DDError, Err
    from daydreaming.fsio import atomic_write_dir

    target = tmp_path / "essays"
    assert atomic_write_dir(target, [("a.html", "A"), ("b.html", "B")]) == 2
    assert sorted(p.name for p in target.iterdir()) == ["a.html", "b.html"]
    with pytest.raises(DDError) as info:
        atomic_write_dir(target, [("c.html", "C"), ("../escape.html", "X")])
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["name"] == "../escape.html"
    assert sorted(p.name for p in target.iterdir()) == ["a.html", "b.html"]  # the old set, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essays"]  # no temp directory left behind
    assert atomic_write_dir(target, [("c.html", "C")]) == 1 and [p.name for p in target.iterdir()] == ["c.html"]
