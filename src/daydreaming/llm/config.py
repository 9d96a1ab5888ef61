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
# The same names for the JSON schema (case-insensitive), so the schema refuses what the model does.
_CREDENTIAL_HEADER_PATTERN = "^(?i:" + "|".join(sorted(_CREDENTIAL_HEADERS)) + ")$"
# An environment variable name, or empty (= no key): a pasted key cannot pass for a name.
ENV_VAR_NAME = r"^([A-Za-z_][A-Za-z0-9_]*)?$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderConfig(_Frozen):
    """Where a provider lives and how patiently to talk to it.

    ``base_url`` is an OpenAI-compatible root (``https://openrouter.ai/api/v1``) or ``offline:``
    for the built-in deterministic provider (no server, no key). ``max_retries`` counts retries
    after the first attempt. The workflow's ``llm.providers.<name>`` settings extend this model
    (``daydreaming.config.ProviderSettings``), so a constraint written here holds for both.
    """

    base_url: str = Field(
        min_length=1,
        description="OpenAI-compatible API root (e.g. https://openrouter.ai/api/v1), or 'offline:' for the "
        "built-in deterministic provider (no server, no key).",
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=ENV_VAR_NAME,
        description="Name of the environment variable that holds the API key (never the key itself); "
        "null or empty: the provider needs no key.",
    )
    headers: dict[str, str] = Field(
        default={},
        description="Extra HTTP headers sent with every request (e.g. HTTP-Referer). Credential headers "
        "are refused: use api_key_env.",
        json_schema_extra={
            "additionalProperties": {"type": "string", "description": "header value"},
            "propertyNames": {"not": {"pattern": _CREDENTIAL_HEADER_PATTERN}},
        },
    )
    timeout_s: float = Field(
        default=600, gt=0, description="Seconds before one HTTP request is abandoned (and retried)."
    )
    max_retries: int = Field(
        default=5, ge=0,
        description="Retries after the first attempt for 429, 5xx, timeouts, dropped connections and answers "
        "without choices; 400/401/403/404/422 are never retried.",
    )
    backoff_base_s: float = Field(
        default=1.0, ge=0,
        description="Exponential backoff: the wait before retry n is uniform in [0, min(backoff_max_s, "
        "backoff_base_s * 2^(n-1))] seconds (full jitter), and at least the provider's Retry-After.",
    )
    backoff_max_s: float = Field(default=60.0, ge=0, description="Upper bound of one backoff wait, in seconds.")
    max_retry_wait_s: float = Field(
        default=120, gt=0,
        description="Longest Retry-After the client waits for; a provider asking for a longer wait fails "
        "the call at once instead of holding a job.",
    )

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
    batch_discount: float = Field(default=0.0, ge=0, lt=1)  # the Batch API's price cut for this model

    def cost_usd(
        self, prompt_tokens: int | None, completion_tokens: int | None, *, batch: bool = False
    ) -> float | None:
        """Cost from the price columns (at the batch price when ``batch``), or None when a price or a
        token count is unknown."""
        prompt_price, completion_price = self.prompt_usd_per_mtok, self.completion_usd_per_mtok
        if prompt_price is None or completion_price is None or prompt_tokens is None or completion_tokens is None:
            return None
        usd = (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1e6
        return usd * (1.0 - self.batch_discount) if batch else usd


class GenerationSettings(_Frozen):
    """Per-call sampling settings; None means "let the provider decide" (the field is not sent).

    The workflow's ``stages.<stage>`` settings extend this model (``daydreaming.config``), so
    a value the client would refuse is refused when the config is loaded, before any job.
    """

    max_tokens: int = Field(default=4096, gt=0, description="Most tokens the model may generate for one answer.")
    temperature: float | None = Field(
        default=None, ge=0, description="Sampling temperature; null: the provider's default (not sent)."
    )
    top_p: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Nucleus sampling mass, in (0, 1]; null: the provider's default (not sent).",
    )
    seed: int | None = Field(
        default=None, description="The provider's sampling seed, for providers that honour it; null: not sent."
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds before one request of this stage is abandoned; null: the provider's timeout_s.",
    )


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
