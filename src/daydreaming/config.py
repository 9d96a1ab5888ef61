"""Typed view of ``config/config.yaml`` for the package (the workflow validates the same file
against ``config/schema/config.schema.yaml`` first, which gives users schema-level errors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import validate_model


class StageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(4096, gt=0)
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, ge=0, le=1)
    seed: int | None = None
    timeout_s: float | None = Field(None, gt=0)
    min_lines: int | None = Field(None, ge=0)

    def generation(self) -> dict[str, Any]:
        """The settings sent to the provider (and recorded in raw_metadata.json)."""
        keys = ("max_tokens", "temperature", "top_p", "seed", "timeout_s")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # a name, never the key
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(600.0, gt=0)
    max_retries: int = Field(5, ge=0)
    max_retry_wait_s: float = Field(120.0, gt=0)  # a longer Retry-After fails the call at once
    # Workflow-level limits (not the client's): concurrent calls across all jobs of a run
    # (the Snakemake resource llm_<provider>) and request starts per minute across processes.
    max_concurrent: int = Field(8, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)

    def client_settings(self) -> dict[str, Any]:
        """What the LLM client's ProviderConfig takes (the workflow limits are applied outside it)."""
        return self.model_dump(exclude={"max_concurrent", "requests_per_minute"})


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_provider: str = "offline"
    providers: dict[str, ProviderSettings] = Field(
        default_factory=lambda: {"offline": ProviderSettings(base_url="offline:")}
    )
    model_providers: dict[str, str] = Field(default_factory=dict)
    # No new call starts once spent (the ledger) + in flight + this call's worst case would pass it.
    max_cost_usd: float | None = Field(None, ge=0)
    # No call starts when the data root's file system has less free space (its answer must fit).
    min_free_disk_mb: int = Field(100, ge=0)


def _default_stages() -> dict[str, StageSettings]:
    return {
        "draft": StageSettings(max_tokens=20480, min_lines=3),
        "essay": StageSettings(max_tokens=20480),
        "evaluation": StageSettings(max_tokens=20480),
    }


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data_root: str = ""
    cohorts: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]] = Field(default_factory=list)
    rerun_policy: Literal["seed", "make"] = "seed"
    stages: dict[Literal["draft", "essay", "evaluation"], StageSettings] = Field(default_factory=_default_stages)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "config") -> "PipelineConfig":
        return validate_model(cls, data, "invalid_config", path=source)

    def stage(self, stage: str) -> StageSettings:
        return self.stages.get(stage) or StageSettings()  # type: ignore[arg-type]
