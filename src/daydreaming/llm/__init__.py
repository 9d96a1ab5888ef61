"""One LLM client for every OpenAI-compatible provider (OpenRouter, OpenAI, vLLM, Ollama, offline).

The client (and with it the ``openai`` SDK, 0.4 s to import) loads on first use: the settings are
read by every command and by Snakemake's parse of the Snakefile, most of which call nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import GenerationSettings, ModelRoute, ProviderConfig

if TYPE_CHECKING:
    from .client import LLMClient, LLMResult

__all__ = ["GenerationSettings", "LLMClient", "LLMResult", "ModelRoute", "ProviderConfig"]


def __getattr__(name: str) -> Any:
    if name in ("LLMClient", "LLMResult"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
