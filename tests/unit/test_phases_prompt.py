"""A prompt whose generation names no parent is refused with the coded error a run gives,
also when the metadata comes from memory (``daydreaming estimate`` renders prompts of
cohorts not compiled yet, without the store's metadata check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.models import MainMetadata
from daydreaming.paths import Paths
from daydreaming.phases import build_prompt
from daydreaming.runtime import Runtime


def _runtime(tmp_path: Path) -> Runtime:
    paths = Paths(tmp_path / "data")
    paths.template_file("essay", "expand").parent.mkdir(parents=True)
    paths.template_file("essay", "expand").write_text("{{ draft_block }}\n")
    return Runtime.from_config({"data_root": str(paths.data_root), "cohorts": []})


def test_essay_without_parent_is_missing_parent(tmp_path: Path) -> None:
    meta = MainMetadata(stage="essay", gen_id="e_1", template_id="expand", llm_model_id="m")
    with pytest.raises(DDError) as info:
        build_prompt(_runtime(tmp_path), "essay", "e_1", meta=meta)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"stage": "essay", "gen_id": "e_1", "mode": "llm", "reason": "missing_parent"}


def test_copied_draft_has_no_parent_stage(tmp_path: Path) -> None:
    meta = MainMetadata(stage="draft", gen_id="d_1", mode="copy", template_id="expand", parent_gen_id="x")
    with pytest.raises(DDError) as info:
        build_prompt(_runtime(tmp_path), "draft", "d_1", meta=meta)
    assert info.value.code is Err.INVALID_CONFIG
    assert info.value.ctx == {"stage": "draft", "gen_id": "d_1", "reason": "no_parent_stage"}
