"""Authoring concept combinations into combo_mappings.csv (append-only, collision-safe)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daydreaming import catalogs, ids
from daydreaming.errors import DDError, Err, parse_rendered
from daydreaming.paths import Paths

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 2, tzinfo=UTC)
CONCEPTS = ["tide-pools", "compound-interest", "jazz-improvisation", "error-correcting-codes"]


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    shutil.copytree(REPO / "data" / "1_raw", tmp_path / "1_raw")
    return Paths(tmp_path)


def test_every_k_of_n_combination_is_added_with_the_earlier_systems_ids(paths: Paths) -> None:
    result = catalogs.author_combos(paths, CONCEPTS, 2, "paragraph", now=NOW)
    assert len(result["added"]) == 6 and result["existing"] == []
    combos = catalogs.load_combos(paths)
    assert set(combos) == set(result["added"])
    for combo in combos.values():
        assert len(combo.concept_ids) == 2 and list(combo.concept_ids) == sorted(combo.concept_ids)
        assert combo.combo_id == ids.combo_id(combo.concept_ids, "paragraph", 2)
    rows = catalogs.read_csv_rows(paths.combo_mappings_csv)
    assert list(rows[0]) == list(catalogs.COMBO_COLUMNS)
    assert {r["k_max"] for r in rows} == {"2"} and {r["created_at"] for r in rows} == {"2026-01-02T00:00:00+00:00"}


def test_authoring_again_appends_only_new_combos(paths: Paths) -> None:
    catalogs.author_combos(paths, CONCEPTS[:3], 2, now=NOW)
    before = paths.combo_mappings_csv.read_text()
    result = catalogs.author_combos(paths, CONCEPTS, 2, now=NOW)
    assert len(result["existing"]) == 3 and len(result["added"]) == 3
    after = paths.combo_mappings_csv.read_text()
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 6


def test_the_earlier_systems_test_vector_is_reproduced(paths: Paths) -> None:
    """combo_v1_13c725cf02fa: four concepts at paragraph level, k_max 4."""
    (paths.concepts_csv).write_text("concept_id,name\n" + "".join(
        f"{c},{c}\n" for c in ["dearth-ai-discoveries", "default-mode-network", "economic-moat",
                               "generator-verifier-gap"]))
    result = catalogs.author_combos(paths, ["economic-moat", "default-mode-network", "generator-verifier-gap",
                                            "dearth-ai-discoveries"], 4)
    assert result["added"] == ["combo_v1_13c725cf02fa"]


def test_a_colliding_id_is_refused_and_nothing_is_written(paths: Paths) -> None:
    cid = ids.combo_id(["compound-interest", "tide-pools"], "paragraph", 2)
    paths.combo_mappings_csv.write_text(
        "combo_id,version,concept_id,description_level,k_max,created_at\n"
        f"{cid},v1,jazz-improvisation,paragraph,2,x\n{cid},v1,tide-pools,paragraph,2,x\n")
    before = paths.combo_mappings_csv.read_bytes()
    with pytest.raises(DDError) as info:
        catalogs.author_combos(paths, ["compound-interest", "tide-pools"], 2)
    assert info.value.code is Err.INVALID_CONFIG and info.value.ctx["reason"] == "combo_collision"
    assert info.value.ctx["combo_id"] == cid
    assert info.value.ctx["existing"] == ["jazz-improvisation", "tide-pools"]
    assert paths.combo_mappings_csv.read_bytes() == before


@pytest.mark.parametrize("concepts,k,level,reason,code", [
    (["tide-pools", "no-such-concept"], 2, "paragraph", "concepts_missing", Err.DATA_MISSING),
    (CONCEPTS, 5, "paragraph", "invalid_k", Err.INVALID_CONFIG),
    (CONCEPTS, 0, "paragraph", "invalid_k", Err.INVALID_CONFIG),
    (CONCEPTS, 2, "chapter", "invalid_description_level", Err.INVALID_CONFIG),
])
def test_bad_requests_are_refused(paths: Paths, concepts, k, level, reason, code) -> None:
    with pytest.raises(DDError) as info:
        catalogs.author_combos(paths, concepts, k, level)
    assert info.value.code is code and info.value.ctx["reason"] == reason
    assert not paths.combo_mappings_csv.exists()


def test_cli_appends_and_reports(paths: Paths) -> None:
    cmd = [sys.executable, "-m", "daydreaming.cli", "combos", "--data-root", str(paths.data_root),
           "--concepts", *CONCEPTS, "--k", "3"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert '"added"' in first.stdout and len(catalogs.load_combos(paths)) == 4
    bad = subprocess.run(cmd[:-1] + ["9"], capture_output=True, text=True, timeout=60)
    code, ctx = parse_rendered(bad.stderr)[0]
    assert bad.returncode == 2 and code == "INVALID_CONFIG" and ctx["reason"] == "invalid_k"
