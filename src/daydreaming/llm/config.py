"""Typed configuration for the LLM client: providers, model routes and per-call settings.

Models are frozen (shared across job threads) and forbid unknown keys (a typo in a config file
must fail loudly, not silently fall back to a default). Keys never live here: a provider names
the *environment variable* holding its key, and credential headers are refused so a key cannot
end up in a config file, a repr or metadata.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import DDError, Err

OFFLINE_SCHEME = "offline:"
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderConfig(_Frozen):
    """Where a provider lives and how patiently to talk to it.

    ``base_url`` is an OpenAI-compatible root (``https://openrouter.ai/api/v1``) or ``offline:``
    for the built-in deterministic provider (no server, no key). ``max_retries`` counts retries
    after the first attempt; ``max_retry_wait_s`` is the longest ``Retry-After`` honoured.
    """

    base_url: str = Field(min_length=1)
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=600, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    max_retry_wait_s: float = Field(default=120.0, gt=0)  # a longer Retry-After fails the call at once

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in headers if name.lower() in _CREDENTIAL_HEADERS)
        if bad:
            raise ValueError(f"credential headers are not allowed here ({bad}); use api_key_env")
        return headers

    @field_validator("api_key_env")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def is_offline(self) -> bool:
        return self.base_url.startswith(OFFLINE_SCHEME)


class ModelRoute(_Frozen):
    """A catalog model id mapped to a provider and that provider's model string (+ prices)."""

    model_id: str = Field(min_length=1)
    model: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    prompt_usd_per_mtok: float | None = Field(default=None, ge=0)
    completion_usd_per_mtok: float | None = Field(default=None, ge=0)

    def cost_usd(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """Cost from the price columns, or None when a price or a token count is unknown."""
        if None in (self.prompt_usd_per_mtok, self.completion_usd_per_mtok, prompt_tokens, completion_tokens):
            return None
        return (prompt_tokens * self.prompt_usd_per_mtok + completion_tokens * self.completion_usd_per_mtok) / 1e6


class GenerationSettings(_Frozen):
    """Per-call sampling settings; None means "let the provider decide" (the field is not sent)."""

    max_tokens: int = Field(default=4096, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    timeout_s: float | None = Field(default=None, gt=0)


M = TypeVar("M", bound=BaseModel)


def load_config(model_cls: type[M], data: Any, *, source: str) -> M:
    """Validate ``data`` into ``model_cls``, turning pydantic errors into ``DDError(INVALID_CONFIG)``.

    ``source`` says where the data came from (file and row) so the user can find it. Input values
    are left out of ctx on purpose: a mistyped field could hold something secret.
    """
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        raise DDError(
            Err.INVALID_CONFIG,
            {"reason": "invalid_llm_config", "config": model_cls.__name__, "source": source, "errors": errors},
        ) from None
