"""The workflow's configuration (``config/config.yaml``): one definition, one loader.

These pydantic models are the single source of truth: ``config/schema/config.schema.yaml``
(the JSON schema Snakemake's ``validate()`` reads, and editors can use) is generated from them
(``python -m daydreaming.config_schema --write``, a test checks it is current), and every
default lives here once, so a setting has the same default whatever the shape of the file.

``load_config`` is the one way in, for the workflow (``Snakefile``) and the commands alike: a
YAML syntax error names the file, line and column; a bad value or an unknown key is refused
with ``INVALID_CONFIG`` naming the file, the key path, the allowed values and the line, before
any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .config_errors import config_error, unknown_name_error
from .llm.config import GenerationSettings, ProviderConfig
from .yamlio import read_yaml_file

CONFIG_FILE = "config/config.yaml"
COHORT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
OFFLINE_PROVIDER = "offline"
# The earlier system's default answer length; a stage that sets no max_tokens gets it, always.
DEFAULT_MAX_TOKENS = 20480
# Old spellings users' config files may hold, and the value each now means.
RERUN_POLICY_ALIASES: dict[str, Any] = {"seed": "keep"}


def _rerun_policy_alias(value: Any) -> Any:
    """Config files written before ``keep`` was named say ``seed``: they keep working unchanged."""
    return RERUN_POLICY_ALIASES.get(value, value) if isinstance(value, str) else value


# ``keep`` or ``make`` once loaded; the schema also accepts the old spellings (Snakemake's
# ``validate()`` reads the file before the models normalise it).
RerunPolicy = Annotated[Literal["keep", "make"], BeforeValidator(_rerun_policy_alias)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageSettings(GenerationSettings):
    """One stage's generation settings: what is sent to the provider, plus the parse's checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="StageSettings")

    max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS, gt=0,
        description="Most tokens the model may generate for one answer of this stage; also what the budget "
        "reserves for a call before it starts.",
    )
    min_lines: int | None = Field(
        default=None, ge=0,
        description="The parse refuses a raw answer with fewer non-empty lines (a truncated or empty answer); "
        "null or 0: no check.",
    )
    batch: bool | None = Field(
        default=None,
        description="true: this stage's calls go through the provider's Batch API; false: one request each; "
        "null: as the provider's batch.enabled says.",
    )

    def generation(self) -> dict[str, Any]:
        """The settings sent to the provider (and recorded in raw_metadata.json): only those set."""
        return self.model_dump(include=set(GenerationSettings.model_fields), exclude_none=True)


class DraftSettings(StageSettings):
    """Draft settings: as any stage, but a draft needs 3 non-empty lines unless told otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="DraftSettings")

    min_lines: int | None = Field(
        default=3, ge=0,
        description="The parse refuses a raw draft with fewer non-empty lines (a truncated or empty answer); "
        "null or 0: no check.",
    )


class StagesSettings(_Settings):
    """Per-stage settings; a stage left out gets every default (the same as an empty mapping)."""

    draft: DraftSettings = Field(default=DraftSettings(), description="Settings of draft generations.")
    essay: StageSettings = Field(default=StageSettings(), description="Settings of essay generations.")
    evaluation: StageSettings = Field(default=StageSettings(), description="Settings of evaluation generations.")


class BatchSettings(_Settings):
    """How a provider's Batch API is used (``daydreaming.batch``; README "Batch mode")."""

    enabled: bool = Field(
        default=False,
        description="Send the pending calls routed to this provider through its Batch API (/v1/files + "
        "/v1/batches) instead of one request each; a stage's batch setting overrides it.",
    )
    discount: float = Field(
        default=0.5, ge=0, lt=1,
        description="Batch price = sync price x (1 - discount), for the estimate, the budget and raw_metadata "
        "cost_usd when the provider reports no cost; a batch_discount column of llm_models.csv overrides it per "
        "model.",
    )
    max_requests: int = Field(
        default=50000, ge=1, description="Most requests in one batch (the provider's limit; OpenAI: 50,000).")
    max_attempts: int = Field(
        default=3, ge=1,
        description="Batches a generation may fail in (a per-request error) before it is no longer "
        "resubmitted; requests an expired or cancelled batch never ran do not count.",
    )
    poll_s: float = Field(
        default=60, gt=0,
        description="Seconds between two looks at a live batch (daydreaming batch run).")


class ProviderSettings(ProviderConfig):
    """A provider as the workflow configures it: the client's settings plus the workflow's limits."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ProviderSettings")

    max_concurrent: int = Field(
        default=8, ge=1,
        description="Calls in flight at once across all jobs of a run (the Snakemake resource "
        "llm_<provider>; --resources llm_<provider>=N overrides it). The profile's cores must cover it.",
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0,
        description="Request starts per minute (retries included) across threads and processes, through "
        "<data_root>/.ratelimit/<provider>; null: no limit (a provider's x-ratelimit-limit-requests header "
        "still applies).",
    )
    tokens_per_minute: float | None = Field(
        default=None, gt=0,
        description="Tokens per minute (prompt + max_tokens of each request, as providers count them) across "
        "threads and processes; null: no limit (a provider's x-ratelimit-limit-tokens header still applies).",
    )
    adaptive_concurrency: bool = Field(
        default=True,
        description="On a 429 the calls in flight to this provider (across processes and SLURM jobs on the data "
        "root) are halved, then grow back by one per round of successes, up to max_concurrent.",
    )
    batch: BatchSettings = Field(default=BatchSettings(), description="The provider's Batch API.")

    @model_validator(mode="after")
    def _batch_needs_http(self) -> ProviderSettings:
        """The built-in offline provider answers in process: it has no Batch API (use the loopback server)."""
        if self.batch.enabled and self.is_offline:
            raise ValueError("batch.enabled needs an HTTP provider: the built-in 'offline:' has no Batch API "
                             "(serve it with daydreaming offline-server and use its base_url)")
        return self

    def client_settings(self) -> dict[str, Any]:
        """What the LLM client's ProviderConfig takes (the workflow limits are applied outside it)."""
        return self.model_dump(include=set(ProviderConfig.model_fields))


class LLMSettings(_Settings):
    """Providers, how catalog models map to them, and the limits on spending."""

    default_provider: str = Field(
        default=OFFLINE_PROVIDER, min_length=1,
        description="Provider of a model whose llm_models.csv 'provider' names no configured provider; "
        "when set, it must be a key of providers.",
    )
    providers: dict[str, ProviderSettings] = Field(
        default={OFFLINE_PROVIDER: ProviderSettings(base_url="offline:")},
        description="Provider name -> its settings. The built-in offline provider (base_url 'offline:') "
        "answers deterministically with no key and no network.",
        json_schema_extra={"propertyNames": {"minLength": 1}, "default": {OFFLINE_PROVIDER: {"base_url": "offline:"}}},
    )
    model_providers: dict[str, str] = Field(
        default={},
        description="Catalog model id -> provider name, overriding the 'provider' column of llm_models.csv.",
        json_schema_extra={"additionalProperties": {"type": "string", "minLength": 1,
                                                    "description": "a key of llm.providers"}},
    )
    max_cost_usd: float | None = Field(
        default=None, ge=0,
        description="USD budget over every run on this data root (ledger: <data_root>/.ledger/spend.jsonl): "
        "no call starts once spent + calls in flight + its worst case would pass it; null: no budget.",
    )
    call_pool: bool = Field(
        default=False,
        description="Make a local run's calls in a pool of threads (up to each provider's cap) as soon as "
        "their prompts exist, ahead of Snakemake scheduling their raw jobs: for fast providers at high caps, "
        "where Snakemake's per-job time would keep calls in flight below the cap. Same store, journal, ledger.",
    )
    min_free_disk_mb: int = Field(
        default=100, ge=0,
        description="Calls do not start while the data root's file system has less free space (MiB), so a "
        "paid answer is never lost to a full disk; 0: no check.",
    )

    @model_validator(mode="after")
    def _providers_exist(self) -> LLMSettings:
        """A provider name that names no provider would fail every call of its models: refuse it now."""
        known = sorted(self.providers)
        # Left at its default, default_provider may name no provider: then every model must name one.
        if "default_provider" in self.model_fields_set and self.default_provider not in self.providers:
            raise unknown_name_error(["default_provider"], self.default_provider, known)
        for model_id, provider in self.model_providers.items():
            if provider not in self.providers:
                raise unknown_name_error(["model_providers", model_id], provider, known)
        return self


class PipelineConfig(_Settings):
    """daydreaming workflow configuration (config/config.yaml); every key is described in config/README.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_root: str = Field(
        default="",
        description="Where the store (gens/), the catalogs (1_raw/) and the cohorts live; empty: "
        "$DAYDREAMING_DATA_ROOT, else 'data'.",
    )
    cohorts: list[Annotated[str, Field(pattern=COHORT_ID)]] = Field(
        description="Cohorts to run: each is <data_root>/cohorts/<id>/ with spec/config.yaml (compiled by the "
        "workflow) or a ready-made membership.csv. Override: --config cohorts='[a,b]'.",
    )
    rerun_policy: RerunPolicy = Field(
        default="keep",
        description="keep: an artifact is regenerated only when it is missing or its stage is forced; a "
        "regenerated parent leaves existing children alone. make: a regenerated parent makes its children "
        "stale, as in make. seed: the old name of keep, still accepted.",
        # the old spellings validate (x-aliases keeps them out of the allowed values an error lists)
        json_schema_extra={"enum": ["keep", "make", *RERUN_POLICY_ALIASES], "x-aliases": RERUN_POLICY_ALIASES},
    )
    stages: StagesSettings = Field(default=StagesSettings(), description="Generation settings per stage.")
    llm: LLMSettings = Field(default=LLMSettings(), description="LLM providers, model routing and spending limits.")

    def stage(self, stage: str) -> StageSettings:
        settings: StageSettings = getattr(self.stages, stage)
        return settings


def load_config(source: str | Path | Mapping[str, Any], *, path: str | Path | None = None) -> PipelineConfig:
    """The validated configuration, from a YAML file or from a mapping already read.

    ``path`` names the file a mapping came from (the workflow passes Snakemake's ``config`` and
    the config file), so errors can name the file and the line of the offending key; a mapping
    holding command-line overrides still validates as a whole. Raises ``DDError``
    (``INVALID_CONFIG``) with ``reason`` ``invalid_config`` or ``yaml_syntax``.
    """
    if not isinstance(source, Mapping):
        path = Path(source)
        data: Any = read_yaml_file(path)
        data = {} if data is None else data
    else:
        data = source
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, data, path) from None
