"""One LLM client for every OpenAI-compatible provider (OpenRouter, OpenAI, vLLM, Ollama, offline)."""

from .client import LLMClient, LLMResult
from .config import GenerationSettings, ModelRoute, ProviderConfig

__all__ = ["GenerationSettings", "LLMClient", "LLMResult", "ModelRoute", "ProviderConfig"]
