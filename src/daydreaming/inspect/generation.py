"""Checks of one generation directory: every file read once, every contract and invariant.

``read_generation`` does the I/O (raw bytes, decoded text, parsed JSON, validated models);
``check_generation`` turns what was read into findings, each with the repair that fits the
file: a lost record that only derived data depends on is re-made (re-parse, metadata from the
membership), while anything that touches a paid answer is left to the user with the command
that regenerates it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import paths as P
from ..errors import DDError
from ..fsio import TMP_PREFIX
from ..membership import Member, metadata_from_row
from ..models import MainMetadata, ParsedMetadata, RawMetadata
from ..plan import StorePlan
from ..report.state import TRUNCATED_REASON
from ..stages import PARENT_STAGE
from . import commands as C
from .findings import Finding, finding
from .stale import STALE, StaleIndex

MODELS: dict[str, type[BaseModel]] = {P.METADATA: MainMetadata, P.RAW_METADATA: RawMetadata,
                                      P.PARSED_METADATA: ParsedMetadata}
TEXTS = (P.PROMPT, P.RAW, P.PARSED)
# metadata.json fields a full membership row also holds (origin_cohort_id differs legitimately
# for a generation that cohorts share: it names the cohort that compiled it first).
UNVERIFIED = ""  # a raw.txt whose metadata cannot be read: its findings say so, the ledger does not repeat it
ROW_FIELDS = ("stage", "gen_id", "parent_gen_id", "template_id", "llm_model_id", "replicate", "mode", "combo_id")


@dataclass
class GenRead:
    """One generation's files as read: bytes of the texts, JSON, and the valid models."""

    have: frozenset[str]
    texts: dict[str, str] = field(default_factory=dict)  # only those that decode
    raw_bytes: bytes | None = None
    data: dict[str, Any] = field(default_factory=dict)  # JSON that parsed
    models: dict[str, BaseModel] = field(default_factory=dict)  # JSON that matched its model
    problems: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (file, reason, detail)

    @property
    def raw_record(self) -> RawMetadata | None:
        return self.models.get(P.RAW_METADATA)  # type: ignore[return-value]

    @property
    def parse_record(self) -> ParsedMetadata | None:
        return self.models.get(P.PARSED_METADATA)  # type: ignore[return-value]


def read_generation(plan: StorePlan, stage: str, gen_id: str) -> GenRead:
    have = plan.present(stage, gen_id)
    read = GenRead(have)
    for name in TEXTS:
        if name not in have:
            continue
        path = plan.paths.gen_file(stage, gen_id, name)
        data = path.read_bytes()
        if name == P.RAW:
            read.raw_bytes = data
        try:
            read.texts[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            read.problems.append((name, "invalid_utf8", {"offset": exc.start}))
    for name, model in MODELS.items():
        if name not in have:
            continue
        try:
            data = json.loads(plan.paths.gen_file(stage, gen_id, name).read_bytes())
        except UnicodeDecodeError as exc:
            read.problems.append((name, "invalid_utf8", {"offset": exc.start}))
            continue
        except ValueError as exc:
            detail = {"line": exc.lineno, "column": exc.colno, "error": exc.msg} if isinstance(
                exc, json.JSONDecodeError) else {"error": str(exc)}
            read.problems.append((name, "invalid_json", detail))
            continue
        read.data[name] = data
        try:
            read.models[name] = model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            read.problems.append((name, "invalid_metadata", {
                "field": ".".join(str(p) for p in first["loc"]), "error": first["msg"]}))
    return read


@dataclass
class GenerationChecker:
    """Findings for members of a plan; remembers which paid answers the store holds."""

    plan: StorePlan
    stale: StaleIndex
    # (stage, gen_id) -> request id of the stored answer (UNVERIFIED: raw.txt without readable metadata)
    answers: dict[tuple[str, str], str | None] = field(default_factory=dict)

    @property
    def paths(self) -> P.Paths:
        return self.plan.paths

    def check(self, member: Member) -> list[Finding]:
        stage, gen_id = member.stage, member.gen_id
        read = read_generation(self.plan, stage, gen_id)
        if not read.have:
            return []  # not started: a missing generation is status's business, not a problem
        expected = _expected_metadata(member)
        raw_ok = self._raw_ok(read)
        out = self._temp_files(stage, gen_id, read)
        error = self.plan.store.raw_invariant_error(stage, gen_id, read.have)
        if error is not None:
            out.append(finding(error.ctx["reason"], error.ctx["path"], stage=stage, gen_id=gen_id,
                               repair=f"{C.forcerun(self.paths, stage, [gen_id], 'raw')} (buys a new answer), "
                                      f"or delete {error.ctx['path']}"))
        for name, reason, detail in read.problems:
            out.append(self._bad_file(member, name, reason, detail, expected is not None, raw_ok))
        if P.METADATA not in read.have:
            out.append(finding("metadata_missing", self.paths.metadata_path(stage, gen_id), stage=stage,
                               gen_id=gen_id, fixable=expected is not None,
                               repair="daydreaming check --fix (from the membership row)" if expected else
                               "restore metadata.json: the membership has no full row to re-create it from"))
        out += self._disagreements(member, read, expected)
        accepted = self.plan.excluded(stage, gen_id)  # its cohorts accept its failure (daydreaming.exclusions)
        if raw_ok:
            out += [] if accepted else self._parse_state(stage, gen_id, read)
            self.answers[(stage, gen_id)] = read.raw_record.request_id if read.raw_record else None
        elif P.RAW in read.have:
            self.answers[(stage, gen_id)] = UNVERIFIED
        out += [] if accepted else self._stale(stage, gen_id, read)
        return out

    # --- the parts --------------------------------------------------------------------------
    @staticmethod
    def _raw_ok(read: GenRead) -> bool:
        return P.RAW in read.texts and P.RAW_METADATA in read.models

    def _temp_files(self, stage: str, gen_id: str, read: GenRead) -> list[Finding]:
        names = sorted(name for name in read.have if name.startswith(TMP_PREFIX))
        if not names:
            return []
        directory = self.paths.generation_dir(stage, gen_id)
        return [temp_finding(os.path.join(directory, name), stage, gen_id) for name in names]

    def _bad_file(self, member: Member, name: str, reason: str, detail: dict[str, Any], full_row: bool,
                  raw_ok: bool) -> Finding:
        stage, gen_id = member.stage, member.gen_id
        path = self.paths.gen_file(stage, gen_id, name)
        fixable = False
        if name == P.METADATA:
            repair = C.remove(path, "daydreaming check --fix") + " (re-created from the membership row)" if full_row \
                else f"restore {path}: the membership has no full row to re-create it from"
        elif name in (P.PARSED, P.PARSED_METADATA):
            fixable = raw_ok
            repair = (C.forcerun(self.paths, stage, [gen_id], "parsed") + " (re-parse, no LLM call)" if raw_ok
                      else C.forcerun(self.paths, stage, [gen_id], "raw") + " (buys a new answer)")
        elif name == P.PROMPT:
            repair = C.remove(path, f"snakemake {C.gen_target(self.paths, stage, gen_id)}") + \
                " (re-rendered; the answer is kept)"
        else:  # raw.txt / raw_metadata.json: the paid answer itself
            repair = (f"repair {path} by hand, or {C.forcerun(self.paths, stage, [gen_id], 'raw')} "
                      "(buys a new answer)")
        return finding(reason, path, repair, stage=stage, gen_id=gen_id, fixable=fixable, file=name, **detail)

    def _disagreements(self, member: Member, read: GenRead, expected: MainMetadata | None) -> list[Finding]:
        stage, gen_id = member.stage, member.gen_id
        out = []
        for name, model in read.models.items():
            wrong = {key: {"file": getattr(model, key), "directory": want}
                     for key, want in (("stage", stage), ("gen_id", gen_id)) if getattr(model, key) != want}
            if wrong:
                path = self.paths.gen_file(stage, gen_id, name)
                out.append(finding("metadata_disagrees_with_directory", path, stage=stage, gen_id=gen_id,
                                   repair=f"{path} belongs to another generation: restore this directory's own "
                                          f"file, or delete {self.paths.generation_dir(stage, gen_id)}",
                                   file=name, fields=wrong))
        meta = read.models.get(P.METADATA)
        if expected is not None and meta is not None:
            wrong = {}
            for key in ROW_FIELDS[2:]:
                if key == "combo_id" and stage != "draft":
                    continue
                have, want = getattr(meta, key), getattr(expected, key)
                if have != want:
                    wrong[key] = {"metadata": have, "membership": want}
            if wrong:
                path = self.paths.metadata_path(stage, gen_id)
                out.append(finding(
                    "metadata_disagrees_with_membership", path, stage=stage, gen_id=gen_id, fields=wrong,
                    repair=f"if the membership row is right: {C.remove(path, 'daydreaming check --fix')}, then "
                           f"{C.forcerun(self.paths, stage, [gen_id], 'prompt')} (the stored answer was made from "
                           "the old metadata; buys a new one); else recompile the cohort"))
        return out

    def _parse_state(self, stage: str, gen_id: str, read: GenRead) -> list[Finding]:
        have, record = read.have, read.parse_record
        if P.PARSED_METADATA in have and record is None or P.PARSED in have and P.PARSED not in read.texts:
            return []  # an unreadable parse file: reported as such, repaired the same way
        if record is not None and not record.success and P.PARSED not in have:
            error = record.error
            detail: dict[str, Any] = {"error_code": error.code if error else None,
                                      "error_reason": error.reason if error else None}
            if detail["error_reason"] == TRUNCATED_REASON:
                return [finding("parse_failed_truncated", self.paths.parsed_metadata_path(stage, gen_id),
                                stage=stage, gen_id=gen_id, **detail,
                                repair=f"raise stages.{stage}.max_tokens in config/config.yaml, then "
                                       f"{C.forcerun(self.paths, stage, [gen_id], 'raw')} (buys a new answer)")]
            return [finding("parse_failed", self.paths.parsed_metadata_path(stage, gen_id), stage=stage,
                            gen_id=gen_id, repair=f"fix the parser or template, then {self._reparse(stage, gen_id)}",
                            **detail)]
        if record is not None and record.success and P.PARSED in have:
            recorded = record.raw_sha256
            if recorded and read.raw_bytes is not None and recorded != hashlib.sha256(read.raw_bytes).hexdigest():
                return [finding("parse_outdated", self.paths.parsed_path(stage, gen_id), self._reparse(stage, gen_id),
                                stage=stage, gen_id=gen_id)]
            return []
        present = sorted(n for n in (P.PARSED, P.PARSED_METADATA) if n in have)
        return [finding("parse_missing", self.paths.parsed_path(stage, gen_id), self._reparse(stage, gen_id),
                        stage=stage, gen_id=gen_id, present=present)]

    def _reparse(self, stage: str, gen_id: str) -> str:
        return C.forcerun(self.paths, stage, [gen_id], "parsed") + " (re-parse, no LLM call)"

    def _stale(self, stage: str, gen_id: str, read: GenRead) -> list[Finding]:
        raw_meta = read.data.get(P.RAW_METADATA)
        if PARENT_STAGE[stage] is None or not isinstance(raw_meta, dict):
            return []
        if self.stale.state(stage, gen_id, raw_meta) != STALE:
            return []
        return [finding("stale_child", self.paths.raw_metadata_path(stage, gen_id), stage=stage, gen_id=gen_id,
                        parent_gen_id=self.plan.parent_of(stage, gen_id),
                        repair=f"{C.forcerun(self.paths, stage, [gen_id], 'prompt')} (buys a new answer); with "
                               "its descendants and every other stale one: daydreaming status --stale")]


def _expected_metadata(member: Member) -> MainMetadata | None:
    """metadata.json as the membership row says it should be (None: a slim row says nothing)."""
    try:
        return metadata_from_row(member)
    except (DDError, ValueError):
        return None


def temp_finding(path: str | os.PathLike[str], stage: str | None = None, gen_id: str | None = None) -> Finding:
    return finding("temp_file_left", path, stage=stage, gen_id=gen_id,
                   repair=f"daydreaming check --fix (removes it once no process of this host writes it and it is "
                          f"older than 10 minutes), or {C.remove(path)}")
