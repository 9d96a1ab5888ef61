"""What a phase job needs, built once per process: paths, store, config and the LLM client.

Workflow jobs run as threads of one Snakemake process (``--force-use-threads``), so building
this once and sharing it is what keeps a phase job in the tens of milliseconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import catalogs
from .config import PipelineConfig, load_config
from .paths import Paths
from .store import GensDataLayer

if TYPE_CHECKING:
    from .budget import Ledger
    from .llm import LLMClient
    from .plan import StorePlan


@dataclass
class Runtime:
    config: PipelineConfig
    paths: Paths
    # provider -> calls in flight at most, when a run sets it otherwise than max_concurrent
    # (snakemake --resources llm_<provider>=N); read when the LLM client is built
    call_caps: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Runtime:
        """One Runtime per distinct config (cached), so repeated jobs share clients and caches."""
        key = json.dumps(config, sort_keys=True, default=str)
        with _RUNTIMES_LOCK:
            runtime = _RUNTIMES.get(key)
            if runtime is None:
                parsed = load_config(config)
                runtime = cls(parsed, Paths.from_str(parsed.data_root or None))
                _RUNTIMES[key] = runtime
            return runtime

    @classmethod
    def for_command(cls, configfile: str | Path, data_root: str | None = None,
                    cohorts: list[str] | None = None) -> tuple[Runtime, dict[str, Any]]:
        """The Runtime of a ``daydreaming`` command: the workflow's config file, with its
        ``--data-root``/``--cohorts`` options applied; errors name the file and the line."""
        from .yamlio import read_yaml_file

        config = read_yaml_file(configfile) or {}
        if data_root is not None:
            config["data_root"] = data_root
        if cohorts is not None:
            config["cohorts"] = list(cohorts)
        load_config(config, path=configfile)
        return cls.from_config(config), config

    def plan(self, cohorts: list[str] | None = None, forced_rules: list[str] | tuple[str, ...] = ()) -> StorePlan:
        """What a run would do, for commands that only read: a cohort whose spec is not compiled
        yet is designed in memory (nothing is written)."""
        from .plan import StorePlan, cohort_needs_compile

        chosen = list(self.config.cohorts if cohorts is None else cohorts)
        return StorePlan.build(self.paths, chosen, policy=self.config.rerun_policy, forced_rules=forced_rules,
                               preview=[c for c in chosen if cohort_needs_compile(self.paths, c)])

    @cached_property
    def store(self) -> GensDataLayer:
        return GensDataLayer(self.paths)

    @cached_property
    def routes(self) -> dict[str, Any]:
        """Catalog model id -> ModelRoute (provider, provider model string, prices); read once."""
        from .llm import ModelRoute

        llm = self.config.llm
        routes = {}
        for model_id, entry in catalogs.models(self.paths).items():
            provider = llm.model_providers.get(model_id)
            if provider is None:
                provider = entry.provider if entry.provider in llm.providers else llm.default_provider
            discount = entry.batch_discount
            if discount is None and provider in llm.providers:
                discount = llm.providers[provider].batch.discount
            routes[model_id] = ModelRoute(
                model_id=model_id,
                model=entry.model,
                provider=provider,
                prompt_usd_per_mtok=entry.prompt_usd_per_mtok,
                completion_usd_per_mtok=entry.completion_usd_per_mtok,
                batch_discount=discount or 0.0,
            )
        return routes

    @cached_property
    def llm(self) -> LLMClient:
        from .llm import LLMClient, ProviderConfig
        from .provider_limits import for_provider

        configured = self.config.llm.providers
        providers = {name: ProviderConfig(**settings.client_settings()) for name, settings in configured.items()}
        # The in-process offline provider has no limits to learn or respect.
        limits = {name: for_provider(self.paths, name, settings, self.call_caps.get(name))
                  for name, settings in configured.items() if not settings.is_offline}
        return LLMClient(providers=providers, routes=self.routes, limits=limits)

    @cached_property
    def ledger(self) -> Ledger:
        from .budget import Ledger

        return Ledger(self.paths.ledger_dir, self.config.llm.max_cost_usd, received=self._journaled_cost)

    def _journaled_cost(self, stage: str | None, gen_id: str | None, reservation_id: str) -> dict[str, Any] | None:
        """The cost of the answer a (dead) reservation received, if the journal has it."""
        from . import journal

        if not stage or not gen_id:
            return None
        entry = journal.pending(self.paths, stage, gen_id)
        if entry is None or entry.reservation_id != reservation_id:
            return None
        raw = entry.raw_metadata
        return {k: raw.get(k) for k in ("provider", "model", "cost_usd", "request_id", "usage")}

    def batched(self, call: Any) -> bool:
        """Whether a ``plan.GenCall`` goes through its provider's Batch API: the stage's ``batch``
        when set, else the provider's ``batch.enabled`` (a copy never calls)."""
        provider = self.provider_of(call)
        if provider is None or provider not in self.config.llm.providers:
            return False
        chosen = self.config.stage(call.stage).batch
        return self.config.llm.providers[provider].batch.enabled if chosen is None else chosen

    def provider_of(self, call: Any) -> str | None:
        """The provider a ``plan.GenCall`` would call (None: a copy, or no such model)."""
        if call.mode != "llm" or not call.model_id:
            return None
        route = self.routes.get(call.model_id)
        return route.provider if route is not None else None


_RUNTIMES: dict[str, Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()
