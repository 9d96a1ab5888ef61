"""The gens store: atomic writes, the earlier system's invariants, coded errors on bad or missing files."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
from pathlib import Path

import pytest

from daydreaming.errors import DDError, Err
from daydreaming.fsio import atomic_write_json, atomic_write_text, read_json
from daydreaming.models import MainMetadata, ParsedMetadata, RawMetadata
from daydreaming.paths import Paths
from daydreaming.store import GensDataLayer

GEN = "d_5ezrffv9uf3lr37d"


@pytest.fixture
def store(tmp_path: Path) -> GensDataLayer:
    return GensDataLayer(Paths(tmp_path))


def gen_dir(store: GensDataLayer, stage: str = "draft", gen_id: str = GEN) -> Path:
    return store.paths.generation_dir(stage, gen_id)


def raw_meta(stage: str = "draft", gen_id: str = GEN, text: str = "answer\n", **extra) -> RawMetadata:
    return RawMetadata(function=f"{stage}_raw", mode="llm", stage=stage, gen_id=gen_id, raw_length=len(text),
                       raw_lines=len(text.splitlines()), raw_path="raw.txt", raw_metadata_path="raw_metadata.json",
                       **extra)


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tmp-"))


# --- atomic writes ----------------------------------------------------------------------------

def test_write_creates_directories_and_leaves_no_temp_file(store: GensDataLayer) -> None:
    path = store.write_prompt("essay", "e_sq5klak2lljyyom", "héllo {{ x }}\n")
    assert path == store.paths.prompt_path("essay", "e_sq5klak2lljyyom")
    assert path.read_text(encoding="utf-8") == "héllo {{ x }}\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["prompt.txt"]


def test_overwrite_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "file.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    atomic_write_text(path, "three", durable=True)
    assert path.read_text() == "three"
    assert os.listdir(path.parent) == ["file.txt"]


def test_line_endings_are_written_as_given(tmp_path: Path) -> None:
    path = tmp_path / "raw.txt"
    atomic_write_text(path, "a\r\nb\n")
    assert path.read_bytes() == b"a\r\nb\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_mode_is_what_open_gives_not_0600(tmp_path: Path) -> None:
    reference = tmp_path / "plain.txt"
    reference.write_text("x")
    path = tmp_path / "atomic.txt"
    atomic_write_text(path, "x")
    assert _mode(path) == _mode(reference)  # mkstemp alone would give 0600


@pytest.mark.parametrize("mask", [0o027, 0o002], ids=["umask027", "umask002"])
def test_file_mode_follows_the_current_umask(tmp_path: Path, mask: int) -> None:
    previous = os.umask(mask)
    try:
        reference = tmp_path / "plain.txt"
        reference.write_text("x")
        path = tmp_path / "atomic.txt"
        atomic_write_text(path, "x")
        json_path = tmp_path / "atomic.json"
        atomic_write_json(json_path, {"a": 1})
    finally:
        os.umask(previous)
    assert _mode(reference) == 0o666 & ~mask
    assert _mode(path) == 0o666 & ~mask
    assert _mode(json_path) == 0o666 & ~mask


def test_failed_write_keeps_old_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """A write that fails half-way (here: the file size limit, as with a full quota) changes nothing."""
    path = write_file(tmp_path / "gens" / "draft" / GEN / "raw.txt", "the paid answer\n")
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        with pytest.raises(DDError) as info:
            atomic_write_text(path, "y" * 200_000, durable=True)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert info.value.code is Err.IO_ERROR
    assert info.value.ctx["reason"] == "write_failed"
    assert info.value.ctx["path"] == str(path)
    assert path.read_text(encoding="utf-8") == "the paid answer\n"
    assert leftovers(path.parent) == []


def test_failed_write_onto_a_directory_is_io_error(tmp_path: Path) -> None:
    target = tmp_path / "metadata.json"
    target.mkdir()
    with pytest.raises(DDError) as info:
        atomic_write_json(target, {"a": 1})
    assert info.value.code is Err.IO_ERROR
    assert info.value.ctx["path"] == str(target)
    assert target.is_dir()
    assert leftovers(tmp_path) == []


def test_json_is_written_in_the_earlier_systems_style(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    atomic_write_json(path, {"name": "Sühne", "n": [1]})
    text = path.read_text(encoding="utf-8")
    assert "Sühne" in text  # ensure_ascii=False
    assert text == json.dumps({"name": "Sühne", "n": [1]}, indent=2, ensure_ascii=False) + "\n"


# --- the raw invariant ------------------------------------------------------------------------

def test_raw_without_raw_metadata_is_data_missing(store: GensDataLayer) -> None:
    write_file(store.paths.raw_path("draft", GEN), "orphan answer")
    with pytest.raises(DDError) as info:
        store.read_raw("draft", GEN)
    err = info.value
    assert err.code is Err.DATA_MISSING
    assert err.ctx["stage"] == "draft"
    assert err.ctx["gen_id"] == GEN
    assert err.ctx["artifact"] == "raw_metadata"
    assert err.ctx["reason"] == "raw_metadata_missing_for_existing_raw"
    assert Path(err.ctx["path"]) in (gen_dir(store), store.paths.raw_metadata_path("draft", GEN))
    # the repair buys this generation's answer only (its target first, then the rule to force)
    assert f"snakemake {store.paths.parsed_path('draft', GEN)} --forcerun draft_raw" in err.ctx["fix"]


def test_raw_invariant_names_the_stage_in_repairs(store: GensDataLayer) -> None:
    write_file(store.paths.raw_path("evaluation", "v_x"), "orphan")
    err = store.raw_invariant_error("evaluation", "v_x")
    assert err is not None and err.code is Err.DATA_MISSING
    assert "--forcerun evaluation_raw" in err.ctx["fix"] and "{stage}" not in err.ctx["fix"]


def test_raw_with_metadata_reads(store: GensDataLayer) -> None:
    store.write_raw("draft", GEN, "answer\n", raw_meta())
    assert store.read_raw("draft", GEN) == "answer\n"
    assert store.raw_invariant_error("draft", GEN) is None


def test_raw_metadata_alone_is_not_an_invariant_error(store: GensDataLayer) -> None:
    atomic_write_json(store.paths.raw_metadata_path("draft", GEN), raw_meta().to_json_dict())
    assert store.raw_invariant_error("draft", GEN) is None


# --- missing and malformed files --------------------------------------------------------------

@pytest.mark.parametrize(
    ("reader", "artifact", "name"),
    [("read_prompt", "prompt", "prompt.txt"), ("read_raw", "raw", "raw.txt"), ("read_parsed", "parsed", "parsed.txt"),
     ("read_main_metadata", "metadata", "metadata.json"), ("read_raw_metadata", "raw_metadata", "raw_metadata.json"),
     ("read_parsed_metadata", "parsed_metadata", "parsed_metadata.json")],
)
def test_missing_file_is_data_missing_with_ctx(store: GensDataLayer, reader: str, artifact: str, name: str) -> None:
    with pytest.raises(DDError) as info:
        getattr(store, reader)("essay", "e_sq5klak2lljyyom")
    err = info.value
    assert err.code is Err.DATA_MISSING
    assert err.ctx["stage"] == "essay"
    assert err.ctx["gen_id"] == "e_sq5klak2lljyyom"
    assert err.ctx["artifact"] == artifact
    assert err.ctx["path"] == str(store.paths.gen_file("essay", "e_sq5klak2lljyyom", name))
    assert not gen_dir(store, "essay", "e_sq5klak2lljyyom").exists()  # reading creates nothing


def test_bad_json_is_parser_failure_with_path_and_line(store: GensDataLayer) -> None:
    path = write_file(store.paths.metadata_path("draft", GEN), '{\n  "stage": "draft",\n  gen_id: oops\n}\n')
    with pytest.raises(DDError) as info:
        store.read_main_metadata("draft", GEN)
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert err.ctx["path"] == str(path)
    assert err.ctx["line"] == 3
    assert err.ctx["stage"] == "draft"
    assert err.ctx["gen_id"] == GEN
    assert err.ctx["artifact"] == "metadata"


def test_read_json_helper_codes(tmp_path: Path) -> None:
    with pytest.raises(DDError) as info:
        read_json(tmp_path / "nope.json")
    assert info.value.code is Err.DATA_MISSING
    assert info.value.ctx["path"] == str(tmp_path / "nope.json")
    bad = write_file(tmp_path / "bad.json", "[1, 2,\n")
    with pytest.raises(DDError) as info:
        read_json(bad)
    assert info.value.code is Err.PARSER_FAILURE
    assert info.value.ctx["path"] == str(bad)
    assert info.value.ctx["line"] == 2


@pytest.mark.parametrize(
    ("reader", "name", "data", "field"),
    [
        ("read_main_metadata", "metadata.json", {"stage": "draft", "gen_id": GEN, "replicate": "two"}, "replicate"),
        ("read_main_metadata", "metadata.json", {"stage": "draft", "gen_id": GEN, "mode": "batch"}, "mode"),
        ("read_main_metadata", "metadata.json", {"gen_id": GEN}, "stage"),
        ("read_raw_metadata", "raw_metadata.json",
         {"function": "draft_raw", "mode": "llm", "stage": "draft", "gen_id": GEN, "raw_lines": 1,
          "raw_path": "r", "raw_metadata_path": "m"}, "raw_length"),
        ("read_raw_metadata", "raw_metadata.json",
         {"function": "draft_raw", "mode": "llm", "stage": "draft", "gen_id": GEN, "raw_length": 1, "raw_lines": 1,
          "raw_path": "r", "raw_metadata_path": "m", "usage": {"completion_tokens": "lots"}},
         "usage.completion_tokens"),
        ("read_parsed_metadata", "parsed_metadata.json",
         {"stage": "draft", "gen_id": GEN, "function": "draft_parsed", "parser_name": "identity",
          "parsed_path": "p", "parsed_metadata_path": "m"}, "success"),
    ],
)
def test_invalid_metadata_is_invalid_config_with_field(store: GensDataLayer, reader: str, name: str, data: dict,
                                                       field: str) -> None:
    path = store.paths.gen_file("draft", GEN, name)
    atomic_write_json(path, data)
    with pytest.raises(DDError) as info:
        getattr(store, reader)("draft", GEN)
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.ctx["reason"] == "invalid_metadata"
    assert err.ctx["field"] == field
    assert err.ctx["path"] == str(path)
    assert err.ctx["stage"] == "draft" and err.ctx["gen_id"] == GEN


# --- unknown keys survive a read/write round trip ---------------------------------------------

EARLIER_MAIN = {"stage": "draft", "gen_id": GEN, "origin_cohort_id": "best_novelty_all_evals", "mode": "llm",
             "template_id": "creative-synthesis-v10", "combo_id": "combo_v1_85128e4e5ef3",
             "llm_model_id": "gemini_25_pro", "replicate": 1,
             # keys this project does not declare (legacy execute_llm extras, a newer version's fields)
             "prompt_chars": 1234, "files": {"raw": "raw.txt", "parsed": "parsed.txt"}, "notes": ["kept", "é"]}
EARLIER_RAW = {"function": "draft_raw", "mode": "llm", "stage": "draft", "gen_id": GEN, "run_id": "r-1",
            "llm_model_id": "gemini_25_pro", "duration_s": 12.345, "finish_reason": "stop", "truncated": False,
            "usage": {"completion_tokens": 900, "max_tokens": 20480, "cached_tokens": 12},
            "input_mode": "prompt", "raw_length": 5000, "raw_lines": 40, "raw_path": "/d/raw.txt",
            "raw_metadata_path": "/d/raw_metadata.json", "dagster_partition": "d_x", "extra_block": {"a": [1, 2]}}
EARLIER_PARSED = {"stage": "draft", "gen_id": GEN, "function": "draft_parsed", "parser_name": "identity",
               "success": True, "error": None, "run_id": "r-1", "input_mode": "prompt",
               "parsed_path": "/d/parsed.txt", "parsed_metadata_path": "/d/parsed_metadata.json",
               "legacy_flag": True}


@pytest.mark.parametrize(
    ("reader", "name", "data"),
    [("read_main_metadata", "metadata.json", EARLIER_MAIN), ("read_raw_metadata", "raw_metadata.json", EARLIER_RAW),
     ("read_parsed_metadata", "parsed_metadata.json", EARLIER_PARSED)],
)
def test_unknown_keys_round_trip(store: GensDataLayer, reader: str, name: str, data: dict) -> None:
    path = store.paths.gen_file("draft", GEN, name)
    write_file(path, json.dumps(data, indent=2, ensure_ascii=False))
    model = getattr(store, reader)("draft", GEN)
    store.write_json_artifact(path, model.to_json_dict())
    assert json.loads(path.read_text(encoding="utf-8")) == data


def test_parsed_metadata_always_has_error_key(store: GensDataLayer) -> None:
    meta = ParsedMetadata(stage="draft", gen_id=GEN, function="draft_parsed", parser_name="identity", success=True,
                          parsed_path="p", parsed_metadata_path="m")
    store.write_parsed("draft", GEN, "parsed\n", meta)
    data = json.loads(store.paths.parsed_metadata_path("draft", GEN).read_text())
    assert "error" in data and data["error"] is None
    assert store.read_parsed("draft", GEN) == "parsed\n"


# --- metadata.json is written once ------------------------------------------------------------

def test_create_main_metadata_writes_the_earlier_systems_keys(store: GensDataLayer) -> None:
    meta = MainMetadata(stage="essay", gen_id="e_sq5klak2lljyyom", origin_cohort_id="c1", mode="copy",
                        template_id="parsed-from-links-v1", parent_gen_id=GEN, llm_model_id="gemini_25_pro")
    assert store.create_main_metadata(meta) is True
    data = json.loads(store.paths.metadata_path("essay", "e_sq5klak2lljyyom").read_text())
    assert data == {"stage": "essay", "gen_id": "e_sq5klak2lljyyom", "origin_cohort_id": "c1", "mode": "copy",
                    "template_id": "parsed-from-links-v1", "parent_gen_id": GEN, "llm_model_id": "gemini_25_pro",
                    "replicate": 1}
    assert store.read_main_metadata("essay", "e_sq5klak2lljyyom") == meta


def test_create_main_metadata_never_overwrites(store: GensDataLayer) -> None:
    path = write_file(store.paths.metadata_path("draft", GEN), json.dumps(EARLIER_MAIN, indent=2))
    before = path.read_bytes()
    other = MainMetadata(stage="draft", gen_id=GEN, origin_cohort_id="another", template_id="other-tpl",
                         combo_id="combo_v1_x", llm_model_id="sonnet-4", replicate=2)
    assert store.create_main_metadata(other) is False
    assert path.read_bytes() == before
    assert store.create_main_metadata(other) is False
    assert path.read_bytes() == before


def test_mode_is_normalised_on_read(store: GensDataLayer) -> None:
    write_file(store.paths.metadata_path("essay", "e_x"), json.dumps({"stage": "essay", "gen_id": "e_x",
                                                                       "mode": " COPY "}))
    assert store.read_main_metadata("essay", "e_x").mode == "copy"
    write_file(store.paths.metadata_path("essay", "e_y"), json.dumps({"stage": "essay", "gen_id": "e_y", "mode": ""}))
    assert store.read_main_metadata("essay", "e_y").mode == "llm"


# --- write_raw ordering -----------------------------------------------------------------------

def test_write_raw_writes_both_files(store: GensDataLayer) -> None:
    meta = raw_meta(finish_reason="stop")
    store.write_raw("draft", GEN, "answer\n", meta)
    assert store.paths.raw_path("draft", GEN).read_text() == "answer\n"
    assert store.read_raw_metadata("draft", GEN) == meta
    assert sorted(os.listdir(gen_dir(store))) == ["raw.txt", "raw_metadata.json"]


def test_write_raw_never_leaves_raw_without_metadata(store: GensDataLayer) -> None:
    """Metadata goes first: when it cannot be written, no raw.txt appears (no orphan to repair)."""
    store.paths.raw_metadata_path("draft", GEN).mkdir(parents=True)  # makes the metadata write fail
    with pytest.raises(DDError) as info:
        store.write_raw("draft", GEN, "answer\n", raw_meta())
    assert info.value.code is Err.IO_ERROR
    assert info.value.ctx["path"] == str(store.paths.raw_metadata_path("draft", GEN))
    assert not store.paths.raw_path("draft", GEN).exists()
    assert leftovers(gen_dir(store)) == []


# --- files that are there but not whole: coded, with the repair that costs least ---------------

@pytest.mark.parametrize(
    ("reader", "name", "forced"),
    [("read_prompt", "prompt.txt", None), ("read_raw", "raw.txt", "draft_raw"),
     ("read_parsed", "parsed.txt", "draft_parsed")],
)
def test_text_that_is_not_utf8_is_coded_with_offset_and_repair(
        store: GensDataLayer, reader: str, name: str, forced: str | None) -> None:
    store.write_raw("draft", GEN, "answer\n", raw_meta())
    path = store.paths.gen_file("draft", GEN, name)
    path.write_bytes(b"first line\nsecond \xff\xfe line\n")
    with pytest.raises(DDError) as info:
        getattr(store, reader)("draft", GEN)
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    ctx = err.ctx
    assert (ctx["reason"], ctx["path"], ctx["offset"], ctx["line"], ctx["byte"]) == (
        "invalid_utf8", str(path), 18, 2, "ff")
    assert (ctx["stage"], ctx["gen_id"], ctx["artifact"]) == ("draft", GEN, name.removesuffix(".txt"))
    if forced is None:  # a prompt is rendered again for free: delete it
        assert ctx["fix"].startswith(f"delete {path}")
    else:  # the command names this one generation, the target before --forcerun
        target = str(store.paths.parsed_path("draft", GEN))
        assert ctx["fix"].startswith(f"snakemake {target} --forcerun {forced}")


@pytest.mark.parametrize(
    ("reader", "name", "fix_start"),
    [("read_main_metadata", "metadata.json", "delete {path}"),
     ("read_raw_metadata", "raw_metadata.json", "snakemake {parsed} --forcerun draft_raw"),
     ("read_parsed_metadata", "parsed_metadata.json", "snakemake {parsed} --forcerun draft_parsed")],
)
def test_corrupt_phase_record_names_line_column_and_repair(
        store: GensDataLayer, reader: str, name: str, fix_start: str) -> None:
    path = write_file(store.paths.gen_file("draft", GEN, name), '{\n  "stage": "draft",\n  "gen_id": \n')
    with pytest.raises(DDError) as info:
        getattr(store, reader)("draft", GEN)
    err = info.value
    assert err.code is Err.PARSER_FAILURE
    assert (err.ctx["reason"], err.ctx["path"], err.ctx["line"], err.ctx["column"]) == ("invalid_json", str(path), 4, 1)
    want = fix_start.format(path=path, parsed=store.paths.parsed_path("draft", GEN))
    assert err.ctx["fix"].startswith(want)


def test_phase_record_that_is_not_utf8_is_coded(store: GensDataLayer) -> None:
    path = store.paths.raw_metadata_path("draft", GEN)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"stage": "dr\xe9ft"}')
    with pytest.raises(DDError) as info:
        store.read_raw_metadata("draft", GEN)
    assert info.value.code is Err.PARSER_FAILURE
    assert (info.value.ctx["reason"], info.value.ctx["offset"]) == ("invalid_utf8", 13)
    assert "--forcerun draft_raw" in info.value.ctx["fix"]


def test_creating_a_new_generation_makes_its_directory_and_never_overwrites(store: GensDataLayer) -> None:
    store.paths.stage_dir("draft").mkdir(parents=True)
    meta = MainMetadata(stage="draft", gen_id="d_new", template_id="t", mode="llm", combo_id="c")
    assert store.create_new_generation(meta) is True
    assert store.read_main_metadata("draft", "d_new").template_id == "t"
    other = MainMetadata(stage="draft", gen_id="d_new", template_id="other", mode="llm", combo_id="c")
    assert store.create_new_generation(other) is False  # the directory exists: written only if missing
    assert store.read_main_metadata("draft", "d_new").template_id == "t"
