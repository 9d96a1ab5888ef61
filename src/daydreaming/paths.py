"""The one place that knows where every file of the store and the catalogs lives.

Nothing else in the project joins file names: the workflow's wildcard patterns come from here
too (``Paths.gen_pattern``), so a store written by the earlier system is read unchanged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import DDError, Err
from .stages import STAGES, require_gen_id, require_stage

PROMPT = "prompt.txt"
RAW = "raw.txt"
PARSED = "parsed.txt"
METADATA = "metadata.json"
RAW_METADATA = "raw_metadata.json"
PARSED_METADATA = "parsed_metadata.json"
GEN_FILES = (PROMPT, RAW, PARSED, METADATA, RAW_METADATA, PARSED_METADATA)

# A cohort's reports (data/cohorts/<cohort_id>/reports/), written by rules/report.smk: first what
# the store scan writes (cohort_scores), then what is computed from it (cohort_report).
SCAN_REPORT_FILES = ("aggregated_scores.csv", "generations.csv", "scan.json")
REPORT_FILES = SCAN_REPORT_FILES + (
    "index.html", "overview.html",
    "generation_scores.csv", "evaluation_model_template_pivot.csv", "final_results.csv",
    "paired_comparisons.csv", "level_means.csv", "judge_diagnostics.csv", "evaluator_agreement.csv",
    "top_essays.csv", "variance_analysis.csv", "perfect_score_paths.csv", "costs.csv",
    "generation_status.csv", "generation_failures.csv",
    "forest_plot.svg", "score_distributions.svg", "evaluator_heatmap.svg",
)
# One page per essay of the cohort, linked from index.html: reports/essays/<essay gen_id>.html
ESSAY_PAGES_DIR = "essays"

DATA_ROOT_ENV = "DAYDREAMING_DATA_ROOT"
TEMPLATES_ROOT_ENV = "GEN_TEMPLATES_ROOT"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def require_name(kind: str, value: str) -> str:
    """Cohort and template ids become path components: refuse separators and ``..``."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or ".." in value:
        raise DDError(Err.INVALID_CONFIG, {"reason": f"invalid_{kind}", kind: value, "allowed": _NAME_RE.pattern})
    return value


def _report_name(name: str) -> str:
    if name not in REPORT_FILES:
        raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_report_file", "name": name})
    return name


@dataclass(frozen=True)
class Paths:
    data_root: Path
    templates_override: Path | None = None

    @classmethod
    def from_str(cls, data_root: str | os.PathLike | None = None) -> Paths:
        root = data_root if data_root not in (None, "") else (os.environ.get(DATA_ROOT_ENV) or "data")
        override = os.environ.get(TEMPLATES_ROOT_ENV) or None
        return cls(Path(root), Path(override) if override else None)

    # --- gens store ------------------------------------------------------------------------
    # Cached: input functions and the cohort compile ask for tens of thousands of paths.
    @cached_property
    def gens_root(self) -> Path:
        return self.data_root / "gens"

    @cached_property
    def _stage_dirs(self) -> dict[str, Path]:
        return {stage: self.gens_root / stage for stage in STAGES}

    def stage_dir(self, stage: str) -> Path:
        found = self._stage_dirs.get(stage)
        return found if found is not None else self.gens_root / require_stage(stage)

    def generation_dir(self, stage: str, gen_id: str) -> Path:
        return self.stage_dir(stage) / require_gen_id(gen_id)

    def gen_file(self, stage: str, gen_id: str, name: str) -> Path:
        if name not in GEN_FILES:
            raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_gen_file", "name": name})
        return self.generation_dir(stage, gen_id) / name

    def prompt_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, PROMPT)

    input_path = prompt_path  # the earlier system calls the prompt the stage's canonical input

    def raw_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, RAW)

    def parsed_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, PARSED)

    def metadata_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, METADATA)

    def raw_metadata_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, RAW_METADATA)

    def parsed_metadata_path(self, stage: str, gen_id: str) -> Path:
        return self.gen_file(stage, gen_id, PARSED_METADATA)

    def parse_gen_file(self, path: str | os.PathLike) -> tuple[str, str, str] | None:
        """``(stage, gen_id, file name)`` of a store file path (as a user types a target), else None."""
        target = Path(os.path.abspath(path))
        try:
            parts = target.relative_to(os.path.abspath(self.gens_root)).parts
        except ValueError:
            return None
        if len(parts) != 3 or parts[0] not in STAGES or parts[2] not in GEN_FILES:
            return None
        return parts[0], parts[1], parts[2]

    @cached_property
    def _stage_dir_strs(self) -> dict[str, str]:
        return {stage: str(path) for stage, path in self._stage_dirs.items()}

    def gen_file_strs(self, stage: str, gen_id: str) -> dict[str, str]:
        """The generation directory (key ``""``) and each of its files, as plain strings: a
        report scans every generation of a cohort, and building pathlib objects for them took a
        third of the scan of a 20,000-evaluation cohort."""
        base = f"{self._stage_dir_strs[require_stage(stage)]}{os.sep}{require_gen_id(gen_id)}"
        return {"": base, **{name: f"{base}{os.sep}{name}" for name in GEN_FILES}}

    def gen_pattern(self, stage: str, name: str) -> str:
        """A Snakemake output pattern with a ``{gen_id}`` wildcard for one stage's file."""
        if name not in GEN_FILES:
            raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_gen_file", "name": name})
        return str(self.stage_dir(stage) / "{gen_id}" / name)

    # --- bookkeeping under the data root (hidden: not part of the gens store contract) -------
    # Everything a run keeps beside the store lives under the data root, so two checkouts (or
    # working directories) that share a data root share it too.
    @property
    def ledger_dir(self) -> Path:
        """The spend ledger and the budget's reservations (``daydreaming.budget``)."""
        return self.data_root / ".ledger"

    @property
    def failures_dir(self) -> Path:
        """One record per currently failing phase job (``daydreaming.failures``)."""
        return self.data_root / ".failures"

    def ratelimit_file(self, provider: str) -> Path:
        """The next free request slot of a provider (``daydreaming.ratelimit``)."""
        return self.data_root / ".ratelimit" / provider

    def tokens_ratelimit_file(self, provider: str) -> Path:
        """The next free tokens-per-minute slot of a provider (``daydreaming.ratelimit``)."""
        return self.data_root / ".ratelimit" / f"{provider}.tokens"

    def ratelimit_state_file(self, provider: str) -> Path:
        """A provider's adaptive concurrency and the limits learned from its headers."""
        return self.data_root / ".ratelimit" / f"{provider}.json"

    def concurrency_slots_dir(self, provider: str) -> Path:
        """One lock file per concurrent call to a provider (``daydreaming.concurrency``)."""
        return self.data_root / ".ratelimit" / f"{provider}.slots"

    @property
    def batches_dir(self) -> Path:
        """The batch records and the files sent and received (``daydreaming.batch``)."""
        return self.data_root / ".batches"

    def batch_records_dir(self, *, done: bool = False) -> Path:
        """Records of batches: ``live/`` until every answer a batch got is in the store, then ``done/``."""
        return self.batches_dir / ("done" if done else "live")

    def batch_record(self, key: str, *, done: bool = False) -> Path:
        return self.batch_records_dir(done=done) / f"{require_name('batch_key', key)}.json"

    def batch_file(self, key: str, kind: str) -> Path:
        """The requests sent (``input``), or the result files received (``output``, ``errors``)."""
        if kind not in ("input", "output", "errors"):
            raise DDError(Err.INVALID_CONFIG, {"reason": "unknown_batch_file", "kind": kind})
        return self.batches_dir / "files" / f"{require_name('batch_key', key)}.{kind}.jsonl"

    @property
    def journal_dir(self) -> Path:
        """Answers received but not yet in the store (``daydreaming.journal``)."""
        return self.data_root / ".journal"

    def journal_entry(self, stage: str, gen_id: str) -> Path:
        return self.journal_dir / require_stage(stage) / f"{require_gen_id(gen_id)}.json"

    @property
    def archive_dir(self) -> Path:
        """Paid answers replaced by a forced regeneration, kept (``daydreaming.archive``)."""
        return self.data_root / ".archive"

    def archive_gen_dir(self, stage: str, gen_id: str) -> Path:
        return self.archive_dir / require_stage(stage) / require_gen_id(gen_id)

    @property
    def logs_dir(self) -> Path:
        """Job logs, ``<rule>/<gen_id or cohort>.log``: under the data root, so that two data roots
        holding the same gen_ids never write (or overwrite) each other's logs."""
        return self.data_root / "logs"

    def log_pattern(self, rule: str, wildcard: str) -> str:
        """A Snakemake ``log:`` pattern with a ``{<wildcard>}``: ``<data_root>/logs/<rule>/{gen_id}.log``."""
        return str(self.logs_dir / require_name("rule", rule) / f"{{{wildcard}}}.log")

    @property
    def run_lock_dir(self) -> Path:
        """The data root's single-writer lock and its holder (``daydreaming.runlock``)."""
        return self.data_root / ".lock"

    # --- cohorts ---------------------------------------------------------------------------
    @property
    def cohorts_dir(self) -> Path:
        return self.data_root / "cohorts"

    def cohort_dir(self, cohort_id: str) -> Path:
        return self.cohorts_dir / require_name("cohort_id", cohort_id)

    def cohort_spec_dir(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / "spec"

    def cohort_spec(self, cohort_id: str) -> Path:
        return self.cohort_spec_dir(cohort_id) / "config.yaml"

    def membership_csv(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / "membership.csv"

    def manifest_json(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / "manifest.json"

    def exclusions_csv(self, cohort_id: str) -> Path:
        """Generations the cohort leaves out on purpose (``daydreaming.exclusions``)."""
        return self.cohort_dir(cohort_id) / "exclusions.csv"

    def cohort_pattern(self, name: str) -> str:
        """A Snakemake output pattern with a ``{cohort}`` wildcard for a file of a cohort."""
        return str(self.cohorts_dir / "{cohort}" / name)

    def cohort_reports_dir(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / "reports"

    def cohort_report(self, cohort_id: str, name: str) -> Path:
        return self.cohort_reports_dir(cohort_id) / _report_name(name)

    def cohort_report_pattern(self, name: str) -> str:
        """A Snakemake output pattern with a ``{cohort}`` wildcard for one report file."""
        return str(self.cohorts_dir / "{cohort}" / "reports" / _report_name(name))

    def cohort_essay_pages_dir(self, cohort_id: str) -> Path:
        return self.cohort_reports_dir(cohort_id) / ESSAY_PAGES_DIR

    def cohort_essay_page(self, cohort_id: str, essay_id: str) -> Path:
        return self.cohort_essay_pages_dir(cohort_id) / f"{require_gen_id(essay_id)}.html"

    def cohort_essay_pages_pattern(self) -> str:
        """The essay pages directory of a cohort, with a ``{cohort}`` wildcard."""
        return str(self.cohorts_dir / "{cohort}" / "reports" / ESSAY_PAGES_DIR)

    # --- catalogs --------------------------------------------------------------------------
    @property
    def raw_dir(self) -> Path:
        return self.data_root / "1_raw"

    @property
    def concepts_csv(self) -> Path:
        return self.raw_dir / "concepts_metadata.csv"

    def concept_description(self, level: str, concept_id: str) -> Path:
        return self.raw_dir / "concepts" / f"descriptions-{level}" / f"{require_name('concept_id', concept_id)}.txt"

    def templates_csv(self, stage: str) -> Path:
        return self.raw_dir / f"{require_stage(stage)}_templates.csv"

    @property
    def llm_models_csv(self) -> Path:
        return self.raw_dir / "llm_models.csv"

    @property
    def templates_root(self) -> Path:
        return self.templates_override or (self.raw_dir / "templates")

    def template_file(self, stage: str, template_id: str) -> Path:
        return self.templates_root / require_stage(stage) / f"{require_name('template_id', template_id)}.txt"

    @property
    def combo_mappings_csv(self) -> Path:
        return self.data_root / "combo_mappings.csv"
