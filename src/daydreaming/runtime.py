"""What a phase job needs, built once per process: paths, store, config and the LLM client.

Workflow jobs run as threads of one Snakemake process (``--force-use-threads``), so building
this once and sharing it is what keeps a phase job in the tens of milliseconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import catalogs
from .config import PipelineConfig
from .paths import Paths
from .store import GensDataLayer


@dataclass
class Runtime:
    config: PipelineConfig
    paths: Paths
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Runtime":
        """One Runtime per distinct config (cached), so repeated jobs share clients and caches."""
        key = json.dumps(config, sort_keys=True, default=str)
        with _RUNTIMES_LOCK:
            runtime = _RUNTIMES.get(key)
            if runtime is None:
                parsed = PipelineConfig.from_mapping(config)
                runtime = cls(parsed, Paths.from_str(parsed.data_root or None))
                _RUNTIMES[key] = runtime
            return runtime

    @cached_property
    def store(self) -> GensDataLayer:
        return GensDataLayer(self.paths)

    def model_routes(self) -> dict[str, Any]:
        from .llm import ModelRoute

        llm = self.config.llm
        routes = {}
        for model_id, entry in catalogs.models(self.paths).items():
            provider = llm.model_providers.get(model_id)
            if provider is None:
                provider = entry.provider if entry.provider in llm.providers else llm.default_provider
            routes[model_id] = ModelRoute(
                model_id=model_id,
                model=entry.model,
                provider=provider,
                prompt_usd_per_mtok=entry.prompt_usd_per_mtok,
                completion_usd_per_mtok=entry.completion_usd_per_mtok,
            )
        return routes

    @cached_property
    def llm(self):
        from .llm import LLMClient, ProviderConfig

        providers = {
            name: ProviderConfig(**settings.model_dump()) for name, settings in self.config.llm.providers.items()
        }
        return LLMClient(providers=providers, routes=self.model_routes())


_RUNTIMES: dict[str, Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()
