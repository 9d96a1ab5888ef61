"""What the pending LLM calls will cost, before spending (``daydreaming estimate``).

Prompt tokens come from the prompts themselves: the stored ``prompt.txt``, or the prompt
rendered in memory (``phases.build_prompt``; nothing is written) for generations whose prompt
does not exist yet. A parent that has no answer yet stands in as text as long as the answer its
template usually gets. Completion tokens are the average seen so far in the store for the
generation's (stage, template), capped at ``max_tokens``, else a default. Tokens are estimated
at ``CHARS_PER_TOKEN`` characters each (providers' tokenizers differ; this is a budget figure,
not an invoice). What a call reserves against ``llm.max_cost_usd`` is not an estimate but a
bound: ``worst_case_usd`` (``daydreaming.budget``).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import paths as P
from .plan import StorePlan
from .runtime import Runtime
from .stages import PARENT_STAGE, STAGES

CHARS_PER_TOKEN = 4.0
DEFAULT_COMPLETION_TOKENS = 1000
CHAT_TEMPLATE_TOKENS = 16


def tokens_of(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def most_prompt_tokens(prompt: str) -> int:
    """An upper bound on what a provider counts for a prompt: no tokenizer makes more tokens
    than UTF-8 bytes, plus a few for the chat template around the message."""
    return len(prompt.encode("utf-8")) + CHAT_TEMPLATE_TOKENS


def worst_case_usd(rt: Runtime, model_id: str, prompt: str, max_tokens: int, *, batch: bool = False) -> float | None:
    """The most a call can cost (None: no prices), at the batch price for a call in a batch: what
    the budget reserves before it starts and counts as spent when its process dies before the
    answer arrives."""
    return rt.llm.route(model_id).cost_usd(most_prompt_tokens(prompt), max_tokens, batch=batch)


@dataclass(frozen=True)
class CallEstimate:
    stage: str
    gen_id: str
    model_id: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    usd: float | None  # one request alone (sync price)
    batch_usd: float | None  # in a batch (the batch price: batch_discount)
    via: str  # how a run would buy it: "batch" or "sync"

    @property
    def run_usd(self) -> float | None:
        """What a run would pay for it, at the price of the way it buys it."""
        return self.batch_usd if self.via == "batch" else self.usd


def completion_averages(paths: P.Paths, templates: Mapping[tuple[str, str], str] | None = None
                        ) -> dict[tuple[str, str], float]:
    """Mean ``usage.completion_tokens`` of the answers in the store, per (stage, template_id).

    ``templates``: the template of each generation whose membership row names it, so that only
    ``raw_metadata.json`` is read for those (``status`` on a 20,000-generation store spent
    about a second reading every ``metadata.json`` again)."""
    known = templates or {}
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for stage in STAGES:
        try:
            entries = list(os.scandir(paths.stage_dir(stage)))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                with open(os.path.join(entry.path, P.RAW_METADATA), "rb") as file:
                    raw = json.loads(file.read())
                template = known.get((stage, entry.name))
                if template is None:
                    with open(os.path.join(entry.path, P.METADATA), "rb") as file:
                        template = json.loads(file.read()).get("template_id")
            except (OSError, ValueError):
                continue
            tokens = (raw.get("usage") or {}).get("completion_tokens") if isinstance(raw, dict) else None
            if template and isinstance(tokens, int) and raw.get("mode") != "copy":
                seen[(stage, template)].append(tokens)
    return {key: sum(values) / len(values) for key, values in seen.items()}


class Estimator:
    """Estimates for the pending calls of one plan (memoised per generation)."""

    def __init__(self, rt: Runtime, plan: StorePlan, default_completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
                 within: set[tuple[str, str]] | None = None):
        self.rt, self.plan, self.default, self.within = rt, plan, default_completion_tokens, within
        self.averages = completion_averages(rt.paths, {(m.stage, m.gen_id): m.row["template_id"]
                                                       for m in plan.members if m.row.get("template_id")})
        self._output: dict[tuple[str, str], int] = {}
        self._tokens: dict[tuple[str | None, ...], int] = {}

    def expected_completion(self, stage: str, gen_id: str) -> int:
        """Tokens the generation's answer is expected to have (a copy has its parent's)."""
        key = (stage, gen_id)
        if key not in self._output:
            call = self.plan.generation_call(stage, gen_id)
            parent = self.plan.parent_of(stage, gen_id)
            parent_stage = PARENT_STAGE[stage]
            if call.mode == "copy" and parent and parent_stage:
                self._output[key] = self.expected_completion(parent_stage, parent)
            else:
                cap = self.rt.config.stage(stage).max_tokens
                average = self.averages.get((stage, call.template_id or ""))
                self._output[key] = min(cap, round(average) if average is not None else self.default)
        return self._output[key]

    def _answered(self, stage: str, gen_id: str) -> bool:
        """A parent with a parse is rendered from its text, one without from a placeholder."""
        return P.PARSED in self.plan.present(stage, gen_id)

    def _prompt_stored(self, stage: str, gen_id: str) -> bool:
        """The stored prompt is what the call sends, unless the user forced prompts anew."""
        return P.PROMPT in self.plan.present(stage, gen_id) and not self.plan.forced(stage, "prompt")

    def _parent_text(self, stage: str, gen_id: str) -> str:
        if self._answered(stage, gen_id):
            return self.rt.store.read_parsed(stage, gen_id)
        return "x" * int(self.expected_completion(stage, gen_id) * CHARS_PER_TOKEN)

    def prompt(self, stage: str, gen_id: str) -> str:
        from .phases import build_prompt

        if self._prompt_stored(stage, gen_id):
            return self.rt.store.read_prompt(stage, gen_id)
        meta = None
        if (stage, gen_id) in self.plan.unwritten:  # designed in memory: its row is its metadata
            from .membership import metadata_from_row

            meta = metadata_from_row(self.plan.member(stage, gen_id))
        return build_prompt(self.rt, stage, gen_id, parent_text=self._parent_text, meta=meta)

    def prompt_tokens(self, stage: str, gen_id: str) -> int:
        """Tokens of the generation's prompt, counted once per distinct rendering: a fresh
        cohort's 16,000 evaluations over placeholder essays have a handful of distinct prompts,
        and rendering each one took most of a 20,000-generation dry run's start-up."""
        key = self._rendering(stage, gen_id)
        if key is None:
            return tokens_of(self.prompt(stage, gen_id))
        if key not in self._tokens:
            self._tokens[key] = tokens_of(self.prompt(stage, gen_id))
        return self._tokens[key]

    def _rendering(self, stage: str, gen_id: str) -> tuple[str | None, ...] | None:
        """All a prompt yet to be rendered depends on, when the membership row tells it: the
        template and mode, and the combo (a draft) or the placeholder parent's length. None when
        the prompt is stored, the row is slim or the parent has a real answer: read or render it."""
        if self._prompt_stored(stage, gen_id):
            return None
        call = self.plan.generation_call(stage, gen_id)
        parent_stage = PARENT_STAGE[stage]
        if parent_stage is None:
            combo_id = self.plan.member(stage, gen_id).row.get("combo_id")
            return (stage, call.mode, call.template_id, combo_id) if combo_id else None
        parent = self.plan.parent_of(stage, gen_id)
        if not parent or self._answered(parent_stage, parent):
            return None
        return (stage, call.mode, call.template_id, str(self.expected_completion(parent_stage, parent)))

    def calls(self) -> list[CallEstimate]:
        out = []
        for call in self.plan.pending_calls(self.within):
            prompt_tokens = self.prompt_tokens(call.stage, call.gen_id)
            completion = self.expected_completion(call.stage, call.gen_id)
            route = self.rt.routes.get(call.model_id or "")  # None: not in llm_models.csv (the job will fail)
            out.append(CallEstimate(call.stage, call.gen_id, call.model_id or "?", route.provider if route else "?",
                                    prompt_tokens, completion,
                                    route.cost_usd(prompt_tokens, completion) if route else None,
                                    route.cost_usd(prompt_tokens, completion, batch=True) if route else None,
                                    "batch" if self.rt.batched(call) else "sync"))
        return out


def report(rt: Runtime, plan: StorePlan, default_completion_tokens: int = DEFAULT_COMPLETION_TOKENS,
           within: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Pending calls per (stage, model) with tokens and USD, one request each (``usd``) and in a
    batch (``batch_usd``), ``via`` how a run would buy them and ``run_usd`` at that price; plus
    the budget's state."""
    calls = Estimator(rt, plan, default_completion_tokens, within).calls()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for c in calls:
        row = rows.setdefault((c.stage, c.model_id), {
            "stage": c.stage, "model_id": c.model_id, "provider": c.provider, "calls": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "usd": 0.0, "batch_usd": 0.0, "run_usd": 0.0,
            "unpriced_calls": 0, "batch_calls": 0})
        row["calls"] += 1
        row["batch_calls"] += c.via == "batch"
        row["prompt_tokens"] += c.prompt_tokens
        row["completion_tokens"] += c.completion_tokens
        if c.usd is None or c.batch_usd is None:
            row["unpriced_calls"] += 1
        else:
            row["usd"] += c.usd
            row["batch_usd"] += c.batch_usd
            row["run_usd"] += c.batch_usd if c.via == "batch" else c.usd
    for row in rows.values():
        row["via"] = "batch" if row["batch_calls"] == row["calls"] else "sync" if not row["batch_calls"] else "mixed"
    totals = {k: sum(r[k] for r in rows.values()) for k in ("calls", "prompt_tokens", "completion_tokens",
                                                              "usd", "batch_usd", "run_usd", "unpriced_calls",
                                                              "batch_calls")}
    return {
        "rows": list(rows.values()), "total": totals, "calls": [dict(vars(c)) for c in calls],  # asdict deep-copies
        "spent_usd": rt.ledger.spent_usd(), "max_cost_usd": rt.ledger.max_cost_usd,
        "ledger": str(rt.ledger.spend_path), "chars_per_token": CHARS_PER_TOKEN,
        "default_completion_tokens": default_completion_tokens,
    }


def format_report(data: dict[str, Any]) -> str:
    def usd(row: dict[str, Any], key: str) -> str:
        if row["calls"] and row["unpriced_calls"] == row["calls"]:
            return "n/a"
        return f"${row[key]:.4f}"

    lines = [f"{'stage':11} {'model':16} {'provider':12} {'calls':>6} {'prompt tok':>11} {'compl. tok':>11} "
             f"{'sync USD':>11} {'batch USD':>11}  via    {'run USD':>11}"]
    total = {"stage": "total", "model_id": "", "provider": "", "via": "", **data["total"]}
    for row in data["rows"] + [total]:
        extra = f" (+{row['unpriced_calls']} calls without prices)" if row["unpriced_calls"] else ""
        lines.append(f"{row['stage']:11} {row['model_id']:16} {row['provider']:12} {row['calls']:>6} "
                     f"{row['prompt_tokens']:>11} {row['completion_tokens']:>11} {usd(row, 'usd'):>11} "
                     f"{usd(row, 'batch_usd'):>11}  {row['via']:6} {usd(row, 'run_usd'):>11}{extra}")
    lines.append("sync: one request each; batch: through the provider's Batch API at its batch price (batch.discount, "
                 "or llm_models.csv batch_discount); via: how a run buys them (stages.<stage>.batch, "
                 "llm.providers.<name>.batch.enabled)")
    budget = "none" if data["max_cost_usd"] is None else f"${data['max_cost_usd']:.4f}"
    lines.append(f"spent so far ${data['spent_usd']:.4f} (ledger {data['ledger']}); budget llm.max_cost_usd: {budget}")
    lines.append(f"estimates: ~{data['chars_per_token']:g} chars/token; completion = per-template average in the "
                 f"store, else {data['default_completion_tokens']} tokens (capped at max_tokens)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``daydreaming estimate``: the pending calls of the configured cohorts; calls nothing."""
    import argparse
    import sys

    from .errors import DDError

    parser = argparse.ArgumentParser(prog="daydreaming estimate", description=main.__doc__)
    parser.add_argument("--configfile", default="config/config.yaml",
                        help="the workflow's config (default: %(default)s)")
    parser.add_argument("--data-root", default=None,
                        help="default: the config's data_root, $DAYDREAMING_DATA_ROOT or data")
    parser.add_argument("--cohorts", nargs="+", default=None, help="default: the config's cohorts")
    parser.add_argument("--default-completion-tokens", type=int, default=DEFAULT_COMPLETION_TOKENS,
                        help="completion length for templates with no answer in the store yet (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the full estimate (every call) as JSON")
    parser.add_argument("--forcerun", "-R", nargs="+", action="extend", default=[], metavar="RULE",
                        help="price a forced run, as snakemake --forcerun RULE... would make it")
    parser.add_argument("targets", nargs="*", help="store files, as given to snakemake: only what they reach")
    args = parser.parse_args(argv)
    # Like snakemake's, --forcerun swallows what follows it: take paths back as targets.
    args.targets += [r for r in args.forcerun if "/" in r]
    args.forcerun = [r for r in args.forcerun if "/" not in r]
    try:
        rt, _ = Runtime.for_command(args.configfile, args.data_root, args.cohorts)
        plan = rt.plan(forced_rules=args.forcerun)
        within = plan.reached_by(args.targets) if args.targets else None
        data = report(rt, plan, args.default_completion_tokens, within)
    except OSError as exc:
        print(f"daydreaming estimate: {exc}", file=sys.stderr)
        return 2
    except DDError as err:
        print(str(err), file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2) if args.json else format_report(data))
    return 0
