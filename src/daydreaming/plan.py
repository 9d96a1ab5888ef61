"""Which files the workflow must produce, and which inputs each phase job declares.

Snakemake re-runs a job when an input is newer or is produced by a job that runs. That is
make's rule, and it would re-buy LLM answers whenever something upstream is touched. The
``keep`` rule (the default ``rerun_policy``) is different: an artifact is regenerated only
when it is missing or its stage is forced. We get it from Snakemake by declaring an upstream
edge only when it is needed: when the job's own outputs are missing, when the user forced an upstream phase of
the same generation, or when ``rerun_policy: make`` asks for make's rule between parent and
child. Everything is decided from one directory read per generation.

A generation that has nothing yet (no prompt, answer or parse) is one job, its
``<stage>_parsed``, which renders the prompt, obtains the answer and parses it: one job
instead of three in the DAG, which is what makes planning a fresh 20,000-generation cohort
fit in seconds (Snakemake spends about a millisecond per job). Where the run could tell the
three phases apart (``--until``/``--omit-from``, a forced prompt or raw rule, a cluster run
whose cheap phases are local rules) they stay three jobs: ``one_job_stages`` says where not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import paths as P
from .errors import DDError, Err
from .exclusions import excluded_keys, with_descendants
from .membership import Member, merge_members, read_membership
from .paths import Paths
from .repairs import regenerate_command
from .stages import PARENT_STAGE
from .store import GensDataLayer

MAX_LISTED = 20
# What a generation's three phases write: a generation with none of them is new.
PHASE_FILES = frozenset({P.PROMPT, P.RAW, P.RAW_METADATA, P.PARSED, P.PARSED_METADATA})
Key = tuple[str, str, str]  # (stage, gen_id, file name): one file of the store


@dataclass(frozen=True)
class GenCall:
    """What a generation's ``<stage>_raw`` job does: copy its parent, or call ``model_id``."""

    stage: str
    gen_id: str
    mode: str
    model_id: str | None
    template_id: str | None


@dataclass
class StorePlan:
    paths: Paths
    members: list[Member]
    policy: str = "keep"
    forced_rules: frozenset[str] = frozenset()
    forceall: bool = False
    # Generations a cohort compile would create: their metadata.json counts as written.
    unwritten: frozenset[tuple[str, str]] = frozenset()
    # Stages whose new generations are one job (see the module doc); none unless the run says so.
    one_job_stages: frozenset[str] = frozenset()
    _present: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict, repr=False)
    _by_key: dict[tuple[str, str], Member] = field(default_factory=dict, repr=False)
    _calls: dict[tuple[str, str], GenCall] = field(default_factory=dict, repr=False)
    _cohorts: dict[str, list[Member]] = field(default_factory=dict, repr=False)
    _excluded_in: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict, repr=False)
    _left_out: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def build(cls, paths: Paths, cohorts: Iterable[str], policy: str = "keep",
              forced_rules: Iterable[str] = (), forceall: bool = False, *,
              preview: Iterable[str] = (), one_job_stages: Iterable[str] = ()) -> StorePlan:
        """The plan of the given cohorts. Cohorts in ``preview`` are designed from their spec in
        memory (nothing is written): what a run would do once it has compiled them."""
        from .cohort.compile import design_cohort, members_of

        cohorts, preview = list(cohorts), set(preview)
        designed = {c: members_of(design_cohort(paths, c)[1]) for c in cohorts if c in preview}
        groups = [designed[c] if c in designed else read_membership(paths.membership_csv(c)) for c in cohorts]
        unwritten = frozenset((m.stage, m.gen_id) for group in designed.values() for m in group)
        plan = cls(paths, merge_members(groups), policy, frozenset(forced_rules), forceall, unwritten,
                   frozenset(one_job_stages))
        plan._by_key = {(m.stage, m.gen_id): m for m in plan.members}
        plan._cohorts = dict(zip(cohorts, groups))
        plan._exclude({c: excluded_keys(paths, c) for c in cohorts})
        return plan

    # --- accepted failures (daydreaming.exclusions) -----------------------------------------
    def _exclude(self, recorded: dict[str, frozenset[tuple[str, str]]]) -> None:
        """Each cohort's exclusions with the descendants that cannot be made without them; a
        generation is left out of the run when every cohort of the run that lists it excludes it."""
        self._excluded_in = {c: with_descendants(self._cohorts[c], keys, self.parent_of)
                             for c, keys in recorded.items() if keys}
        if not self._excluded_in:
            return
        wanted = {(m.stage, m.gen_id) for c, group in self._cohorts.items() for m in group
                  if (m.stage, m.gen_id) not in self._excluded_in.get(c, ())}
        self._left_out = frozenset(key for keys in self._excluded_in.values() for key in keys) - wanted

    def excluded_in(self, cohort_id: str) -> frozenset[tuple[str, str]]:
        """The cohort's excluded generations and their descendants."""
        return self._excluded_in.get(cohort_id, frozenset())

    def excluded(self, stage: str, gen_id: str) -> bool:
        """True when every cohort of this plan that lists the generation excludes it: no job of
        it is requested."""
        return (stage, gen_id) in self._left_out

    def cohort_members(self, cohort_id: str) -> list[Member]:
        """One cohort's members as this plan sees them (designed in memory if not compiled yet)."""
        found = self._cohorts.get(cohort_id)
        return found if found is not None else read_membership(self.paths.membership_csv(cohort_id))

    @property
    def store(self) -> GensDataLayer:
        return GensDataLayer(self.paths)

    # --- state -----------------------------------------------------------------------------
    def present(self, stage: str, gen_id: str) -> frozenset[str]:
        key = (stage, gen_id)
        found = self._present.get(key)
        if found is None:
            found = self.store.present(stage, gen_id)
            if key in self.unwritten:
                found = found | {P.METADATA}
            self._present[key] = found
        return found

    def forced(self, stage: str, *phases: str) -> bool:
        return self.forceall or any(f"{stage}_{phase}" in self.forced_rules for phase in phases)

    def parent_of(self, stage: str, gen_id: str) -> str | None:
        member = self._by_key.get((stage, gen_id))
        if member is not None and member.parent_gen_id:
            return member.parent_gen_id
        if PARENT_STAGE[stage] is None:
            return None
        if P.METADATA not in self.present(stage, gen_id):
            return None
        return self.store.read_main_metadata(stage, gen_id).parent_gen_id

    # --- targets ---------------------------------------------------------------------------
    def check_raw_invariant(self) -> None:
        """Stop before any job runs if a paid answer would be deleted by its own re-run."""
        broken = []
        for m in self.members:
            if self.forced(m.stage, "prompt", "raw"):
                continue
            error = self.store.raw_invariant_error(m.stage, m.gen_id, self.present(m.stage, m.gen_id))
            if error:
                broken.append(error)
        if broken:
            first = broken[0]
            first.ctx["count"] = len(broken)
            first.ctx["paths"] = [e.ctx["path"] for e in broken[:MAX_LISTED]]
            by_stage: dict[str, list[str]] = {}
            for err in broken:
                by_stage.setdefault(err.ctx["stage"], []).append(err.ctx["gen_id"])
            first.ctx["fix"] = ("buy new answers for exactly these generations (their raw.txt is archived, "
                                "not deleted): " + " ; ".join(regenerate_command(self.paths, stage, sorted(ids))
                                                              for stage, ids in by_stage.items()))
            raise first

    def targets(self, requested: Iterable[str] = (),
                waiting: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()) -> list[str]:
        """The files to request so that every missing store file gets made.

        Snakemake skips a missing intermediate when the files after it are present, and only
        re-runs a job for a missing file that a running job (or ``rule all``) requests. Each
        generation is represented by its parse record; other missing files are requested by
        name. A missing file that a job certain to run already requests is left out: a job
        that makes a missing target runs, and so does the job of each missing file it declares
        (``*_inputs``), and so on; ``requested`` are missing store files that another job
        certain to run asks for (the scan of a cohort that has none yet). Every target is a DAG
        edge for Snakemake to resolve, and most new generations are reached through their
        children: fewer targets, faster DAG. Generations in ``waiting`` (and their descendants,
        which ``waiting`` holds too) are left out: their answers come from a batch (``batch.gate``).
        """
        self.check_raw_invariant()
        wanted: list[tuple[str, str, str]] = []
        for m in self.members:
            if (m.stage, m.gen_id) in self._left_out or (m.stage, m.gen_id) in waiting:
                continue
            have = self.present(m.stage, m.gen_id)
            if not self._settled(m.stage, have):
                wanted.extend((m.stage, m.gen_id, name) for name in self._wanted(have))
        asked = [key for key in map(self.paths.parse_gen_file, requested) if key is not None]
        made = self._made([edge for key in wanted if self._absent(key) for edge in self._edges(*key)] + asked)
        return [str(self.paths.gen_file(*key)) for key in wanted if not self._made_anyway(key, made)]

    def _absent(self, key: Key) -> bool:
        stage, gen_id, name = key
        return name not in self.present(stage, gen_id)

    def _made(self, requested: Iterable[Key]) -> set[Key]:
        """The missing files that get made when ``requested`` are requested by running jobs:
        each one's job runs and requests its own declared inputs."""
        todo, made = [key for key in requested if self._absent(key)], set()
        while todo:
            key = todo.pop()
            if key not in made:
                made.add(key)
                todo.extend(edge for edge in self._edges(*key) if self._absent(edge))
        return made

    def _made_anyway(self, key: Key, made: set[Key]) -> bool:
        """True for a missing target that is made anyway: requested by a running job, or the
        parse record of a parse that runs because its missing ``parsed.txt`` is requested."""
        stage, gen_id, name = key
        if not self._absent(key):
            return False  # a present target keeps its job in the DAG (mtimes are compared)
        return key in made or (name == P.PARSED_METADATA and (stage, gen_id, P.PARSED) in made)

    def settled(self, stage: str, gen_id: str) -> bool:
        """True when no job of this generation can run in this DAG (see ``_settled``)."""
        return self._settled(stage, self.present(stage, gen_id))

    def _settled(self, stage: str, have: frozenset[str]) -> bool:
        """Under the keep policy a complete, unforced generation has nothing to do: leaving
        it out of the DAG makes checking a large finished cohort a matter of directory reads.
        (Under ``make`` Snakemake must compare it with its parent, so it stays in.)"""
        return (self.policy == "keep" and all(name in have for name in P.GEN_FILES)
                and not self.forced(stage, "metadata", "prompt", "raw", "parsed"))

    @staticmethod
    def _wanted(have: frozenset[str]) -> list[str]:
        """A missing file is requested when no job that will run anyway consumes it."""
        parse_done = P.PARSED in have and P.PARSED_METADATA in have
        raw_done = P.RAW in have and P.RAW_METADATA in have
        wanted = [P.PARSED_METADATA]
        if P.PARSED not in have and P.PARSED_METADATA in have:
            wanted.append(P.PARSED)  # e.g. a failed parse's record is there, the text is not
        if not raw_done and parse_done:
            wanted.append(P.RAW)  # the parse is complete and would not ask for a new answer
        if P.PROMPT not in have and raw_done:
            wanted.append(P.PROMPT)  # re-rendered alone: a new prompt does not re-buy the answer
        if P.METADATA not in have and P.PROMPT in have:
            wanted.append(P.METADATA)
        return wanted

    # --- edges -----------------------------------------------------------------------------
    def _missing(self, stage: str, gen_id: str, *names: str) -> bool:
        have = self.present(stage, gen_id)
        return any(name not in have for name in names)

    def prompt_inputs(self, stage: str, gen_id: str) -> list[str]:
        return self._as_paths(self._prompt_edges(stage, gen_id))

    def raw_inputs(self, stage: str, gen_id: str) -> list[str]:
        return self._as_paths(self._raw_edges(stage, gen_id))

    def parsed_inputs(self, stage: str, gen_id: str) -> list[str]:
        return self._as_paths(self._parsed_edges(stage, gen_id))

    def in_one_job(self, stage: str, gen_id: str) -> bool:
        """True when this generation's ``<stage>_parsed`` job also renders its prompt and obtains
        its answer: it has none of its phase files and the user forced neither its prompt nor its
        answer (a forced phase must be a job of its own rule for Snakemake to force it)."""
        return (stage in self.one_job_stages and not self.present(stage, gen_id) & PHASE_FILES
                and not self.forced(stage, "prompt", "raw"))

    def _as_paths(self, keys: list[Key]) -> list[str]:
        return [str(self.paths.gen_file(*key)) for key in keys]

    def _edges(self, stage: str, gen_id: str, name: str) -> list[Key]:
        """The inputs declared by the job that writes file ``name`` of this generation."""
        if name == P.PROMPT:
            return self._prompt_edges(stage, gen_id)
        if name in (P.RAW, P.RAW_METADATA):
            return self._raw_edges(stage, gen_id)
        if name in (P.PARSED, P.PARSED_METADATA):
            return self._parsed_edges(stage, gen_id)
        return []

    def _prompt_edges(self, stage: str, gen_id: str) -> list[Key]:
        inputs = []
        if self._missing(stage, gen_id, P.METADATA):
            inputs.append((stage, gen_id, P.METADATA))
        needed = self.policy == "make" or self._missing(stage, gen_id, P.PROMPT) or self.forced(stage, "prompt")
        parent_stage = PARENT_STAGE[stage]
        if needed and parent_stage:
            parent = self.parent_of(stage, gen_id)
            if parent:
                inputs.append((parent_stage, parent, P.PARSED))
        return inputs

    def _raw_edges(self, stage: str, gen_id: str) -> list[Key]:
        needed = (self.policy == "make" or self._missing(stage, gen_id, P.RAW, P.RAW_METADATA)
                  or self.forced(stage, "prompt"))
        return [(stage, gen_id, P.PROMPT)] if needed else []

    def _parsed_edges(self, stage: str, gen_id: str) -> list[Key]:
        if self.in_one_job(stage, gen_id):
            return self._prompt_edges(stage, gen_id)
        needed = (self.policy == "make" or self._missing(stage, gen_id, P.PARSED, P.PARSED_METADATA, P.RAW)
                  or self.forced(stage, "prompt", "raw"))
        return [(stage, gen_id, P.RAW)] if needed else []

    # --- LLM calls ---------------------------------------------------------------------------
    def generation_call(self, stage: str, gen_id: str) -> GenCall:
        """Mode, model and template from the membership row, else from ``metadata.json``."""
        key = (stage, gen_id)
        found = self._calls.get(key)
        if found is None:
            member = self._by_key.get(key)
            row = member.row if member is not None else {}
            mode = (row.get("mode") or "").strip().lower()
            if not (mode and row.get("template_id")) and P.METADATA in self.present(stage, gen_id):
                meta = self.store.read_main_metadata(stage, gen_id)
                found = GenCall(stage, gen_id, meta.mode, meta.llm_model_id, meta.template_id)
            else:
                found = GenCall(stage, gen_id, mode or "llm", row.get("llm_model_id") or None,
                                row.get("template_id") or None)
            self._calls[key] = found
        return found

    def pending_calls(self, within: set[tuple[str, str]] | None = None) -> list[GenCall]:
        """The LLM calls this run would make: generations whose ``<stage>_raw`` job will run.

        Exact under the keep policy (a missing answer or a forced stage); under ``make`` a
        generation whose parent's answer is regenerated counts too (an upper bound: a
        byte-identical new parent does not cascade). ``within`` restricts it to the
        generations a run with file targets reaches (``reached_by``); ``--until``/``--omit-from``
        are ignored.
        """
        pending: set[tuple[str, str]] = set()
        calls = []
        for m in self.members:  # parents first (members are sorted by stage)
            if within is not None and (m.stage, m.gen_id) not in within or (m.stage, m.gen_id) in self._left_out:
                continue
            have = self.present(m.stage, m.gen_id)
            runs = self.forced(m.stage, "prompt", "raw") or P.RAW not in have or P.RAW_METADATA not in have
            parent_stage = PARENT_STAGE[m.stage]
            if not runs and self.policy == "make" and parent_stage:
                runs = (parent_stage, self.parent_of(m.stage, m.gen_id)) in pending
            if runs:
                pending.add((m.stage, m.gen_id))
                call = self.generation_call(m.stage, m.gen_id)
                if call.mode == "llm":
                    calls.append(call)
        return calls

    def reached_by(self, targets: Iterable[str]) -> set[tuple[str, str]]:
        """The generations whose jobs a run with these file targets has in its DAG: each
        target's generation, then whatever the declared inputs (``*_inputs``) lead to."""
        todo, seen = [key for key in map(self.paths.parse_gen_file, targets) if key is not None], set()
        while todo:
            key = todo.pop()
            if key not in seen:
                seen.add(key)
                todo.extend(self._edges(*key))
        return {(stage, gen_id) for stage, gen_id, _ in seen}

    def member(self, stage: str, gen_id: str) -> Member:
        member = self._by_key.get((stage, gen_id))
        if member is None:
            raise DDError(Err.INVALID_MEMBERSHIP, {"reason": "not_a_member", "stage": stage, "gen_id": gen_id})
        return member


def cohort_needs_compile(paths: Paths, cohort_id: str) -> bool:
    """True when membership.csv is missing or older than a file of the cohort's spec."""
    membership = paths.membership_csv(cohort_id)
    try:
        built = membership.stat().st_mtime_ns
    except FileNotFoundError:
        return True
    spec_dir = paths.cohort_spec_dir(cohort_id)
    if not spec_dir.is_dir():
        return False
    return any(p.stat().st_mtime_ns > built for p in spec_dir.rglob("*") if p.is_file())


SAFE_RERUN_TRIGGERS = frozenset({"mtime"})


def check_rerun_triggers(triggers: Iterable[str]) -> None:
    """Refuse Snakemake rerun triggers that would re-buy answers.

    The code/params/software-env triggers re-run every job after a rule edit, and the input
    trigger fires whenever StorePlan leaves out an edge that was declared on the last run,
    which is most of the time; each such re-run of ``<stage>_raw`` deletes and re-buys its
    answer. ``profiles/default`` sets ``rerun-triggers: [mtime]``.
    """
    unsafe = sorted({str(t).lower().replace("_", "-") for t in triggers} - SAFE_RERUN_TRIGGERS)
    if unsafe:
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "unsafe_rerun_triggers", "triggers": unsafe,
             "fix": "run with the default profile (profiles/default) or pass --rerun-triggers mtime"},
        )
