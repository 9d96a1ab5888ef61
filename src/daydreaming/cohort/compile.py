"""Compile a cohort: spec -> design rows -> validated membership, manifest and write-once metadata.

Everything is validated before anything is written, and ``membership.csv`` is replaced last
and atomically, so a failed compile leaves the previous cohort and the whole store untouched.
Nothing downstream re-reads the spec.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping

from .. import catalogs, ids
from ..errors import DDError, Err
from ..fsio import atomic_write_json, atomic_write_text, read_json
from ..membership import MEMBERSHIP_COLUMNS, Member, metadata_from_row
from ..paths import METADATA, Paths
from ..repairs import file_repair
from ..stages import STAGES
from ..store import GensDataLayer
from . import design as D

CATALOG_FIELDS = {
    "draft_template": "catalog_draft_templates_missing",
    "essay_template": "catalog_essay_templates_missing",
    "evaluation_template": "catalog_evaluation_templates_missing",
    "draft_llm": "catalog_generation_llms_missing",
    "essay_llm": "catalog_essay_llms_missing",
    "evaluation_llm": "catalog_evaluation_llms_missing",
    "combo_id": "catalog_combos_missing",
}


def catalog_values(paths: Paths) -> dict[str, set[str]]:
    models = set(catalogs.models(paths))
    return {
        "draft_template": set(catalogs.templates(paths, "draft")),
        "essay_template": set(catalogs.templates(paths, "essay")),
        "evaluation_template": set(catalogs.templates(paths, "evaluation")),
        "draft_llm": models,
        "essay_llm": models | {"None"},
        "evaluation_llm": models,
        "combo_id": set(catalogs.combos(paths)),
    }


def validate_against_catalogs(design: list[dict[str, str]], known: Mapping[str, set[str]]) -> None:
    """One error listing every unknown value, so a user fixes a spec in one pass."""
    missing = {}
    for name, allowed in known.items():
        unknown = sorted({d[name] for d in design if d[name] and d[name] not in allowed})
        if unknown:
            missing[name] = unknown
    if missing:
        raise DDError(Err.INVALID_CONFIG, {"reason": "catalog_values_missing", "missing": missing,
                                           "reasons": sorted(CATALOG_FIELDS[n] for n in missing)})


def check_combo_concepts(paths: Paths, combo_ids: set[str]) -> None:
    """Every concept of the design's combos is in the concepts catalog and has a description.

    A draft prompt renders each concept's text; found at the draft's prompt job instead, the
    gap would surface after the cohort is compiled and other drafts are paid for. A concept
    with no description file at any level would render as its bare name: refused too.
    """
    combos, known = catalogs.combos(paths), catalogs.concepts(paths)
    used = {cid: combos[cid] for cid in sorted(combo_ids) if cid in combos}
    missing = {cid: [c for c in combo.concept_ids if c not in known] for cid, combo in used.items()}
    missing = {cid: absent for cid, absent in missing.items() if absent}
    if missing:
        raise DDError(Err.DATA_MISSING, {
            "reason": "concepts_missing_for_combo", "missing": missing, "path": str(paths.concepts_csv),
            "combo_mappings": str(paths.combo_mappings_csv),
            "fix": f"add the concepts to {paths.concepts_csv}, or take these combos out of the spec"})
    undescribed = {}
    for combo in used.values():
        for concept_id in combo.concept_ids:
            if not known[concept_id].descriptions:
                levels = dict.fromkeys((combo.description_level, "paragraph", "sentence"))
                undescribed[concept_id] = [str(paths.concept_description(level, concept_id)) for level in levels]
    if undescribed:
        raise DDError(Err.DATA_MISSING, {
            "reason": "concept_description_missing", "missing": undescribed, "path": str(paths.concepts_csv),
            "fix": "write one of the listed description files for each concept"})


def _existing_dirs(paths: Paths) -> dict[str, frozenset[str]]:
    """The generation directories of each stage, one listing per stage: the ids of a new cohort
    are looked up in a set instead of failing to open 20,000 metadata files."""
    found: dict[str, frozenset[str]] = {}
    for stage in STAGES:
        try:
            with os.scandir(paths.stage_dir(stage)) as entries:
                found[stage] = frozenset(entry.name for entry in entries)
        except FileNotFoundError:
            found[stage] = frozenset()
    return found


def _existing_signature(store: GensDataLayer, existing: dict[str, frozenset[str]]
                        ) -> Callable[[str, str], ids.Signature | None]:
    def lookup(stage: str, gen_id: str) -> ids.Signature | None:
        if gen_id not in existing[stage]:
            return None
        path = store.paths.metadata_path(stage, gen_id)
        try:
            return ids.signature_for(stage, read_json(path))  # plain JSON: 20k of these on a recompile
        except DDError as err:
            if err.code is Err.DATA_MISSING:
                return None
            err.ctx.update({"stage": stage, "gen_id": gen_id, "artifact": "metadata",
                            "fix": file_repair(store.paths, stage, gen_id, METADATA)})
            raise

    return lookup


def _membership_csv(rows: list[D.MembershipRow]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MEMBERSHIP_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.as_dict() for row in rows)
    return buffer.getvalue()


def design_cohort(
    paths: Paths, cohort_id: str, shuffle_seed: int | None = None, existing: dict[str, frozenset[str]] | None = None
) -> tuple[list[dict[str, str]], list[D.MembershipRow]]:
    """The validated design rows and membership rows of a cohort's spec; writes nothing.

    What ``compile_cohort`` would write, so that ``snakemake -n`` and ``daydreaming estimate``
    can show a cohort whose spec is not compiled yet. ``existing``: the store's generation
    directories (``_existing_dirs``), when the caller has listed them already.
    """
    from .spec import expand_design, load_spec

    existing = _existing_dirs(paths) if existing is None else existing

    spec_path = paths.cohort_spec(cohort_id)
    if not spec_path.exists():
        raise DDError(Err.INVALID_CONFIG, {"reason": "cohort_spec_required", "cohort_id": cohort_id,
                                           "path": str(spec_path), "fix": "write the cohort's spec/config.yaml"})
    design = D.normalise(expand_design(load_spec(spec_path), shuffle_seed=shuffle_seed))
    validate_against_catalogs(design, catalog_values(paths))
    check_combo_concepts(paths, {d["combo_id"] for d in design if d.get("combo_id")})
    modes = {stage: {tid: t.generator for tid, t in catalogs.templates(paths, stage).items()}
             for stage in ("draft", "essay", "evaluation")}
    rows = D.build_membership(design, cohort_id, modes, _existing_signature(GensDataLayer(paths), existing))
    _check_copy_templates(rows)
    return design, rows


def members_of(rows: list[D.MembershipRow]) -> list[Member]:
    """Membership rows as the workflow reads them back from membership.csv."""
    return [Member(row.stage, row.gen_id, row.as_dict()) for row in rows]


def compile_cohort(paths: Paths, cohort_id: str, shuffle_seed: int | None = None) -> dict:
    """Compile ``cohorts/<cohort_id>/spec/config.yaml``; returns counts per stage."""
    existing = _existing_dirs(paths)
    design, rows = design_cohort(paths, cohort_id, shuffle_seed, existing)
    _create_metadata(GensDataLayer(paths), rows, existing)
    atomic_write_json(paths.manifest_json(cohort_id), D.manifest(design))
    atomic_write_text(paths.membership_csv(cohort_id), _membership_csv(rows))
    counts = {stage: sum(1 for r in rows if r.stage == stage) for stage in ("draft", "essay", "evaluation")}
    return {"cohort_id": cohort_id, "rows": len(design), **counts}


def _create_metadata(store: GensDataLayer, rows: list[D.MembershipRow], existing: dict[str, frozenset[str]]) -> None:
    """Create every generation's metadata.json (never overwriting): a generation whose directory
    did not exist gets it made with its metadata (one mkdir, one atomic write); the others get
    it only where their metadata.json is missing."""
    for stage in STAGES:
        store.paths.stage_dir(stage).mkdir(parents=True, exist_ok=True)
    for member in members_of(rows):
        meta = metadata_from_row(member)
        if member.gen_id in existing[member.stage]:
            store.create_main_metadata(meta)
        else:
            store.create_new_generation(meta)


def _check_copy_templates(rows: list[D.MembershipRow]) -> None:
    bad = sorted({r.template_id for r in rows if r.stage == "draft" and r.mode == "copy"})
    if bad:
        raise DDError(Err.INVALID_CONFIG, {"reason": "no_parent_stage", "stage": "draft", "templates": bad,
                                           "fix": "a draft has no parent to copy: use generator=llm"})


__all__ = ["check_combo_concepts", "compile_cohort", "design_cohort", "members_of", "validate_against_catalogs"]
