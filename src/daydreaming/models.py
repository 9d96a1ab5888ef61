"""Pydantic models of the three JSON contracts of a generation directory.

``extra="allow"`` on purpose: a store written by the earlier system (or a newer version of this
project) may carry keys we do not know, and rewriting such a file must not drop them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Mode = Literal["llm", "copy"]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Keys in declaration order, unknown keys kept, unset optionals left out."""
        return self.model_dump(mode="json", exclude_none=True)


class MainMetadata(_Contract):
    """``metadata.json``: written once by the cohort compile, never overwritten."""

    stage: str
    gen_id: str
    origin_cohort_id: str | None = None
    mode: Mode = "llm"
    template_id: str | None = None
    combo_id: str | None = None
    parent_gen_id: str | None = None
    llm_model_id: str | None = None
    replicate: int = 1

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return (
            value.strip().lower()
            if isinstance(value, str) and value.strip()
            else "llm"
            if value in ("", None)
            else value
        )


class Usage(_Contract):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None
    max_tokens: int | None = None


class RawMetadata(_Contract):
    """``raw_metadata.json``: what the expensive call cost and returned."""

    function: str
    mode: Mode
    stage: str
    gen_id: str
    run_id: str | None = None
    llm_model_id: str | None = None
    provider: str | None = None
    model: str | None = None
    duration_s: float | None = None
    finish_reason: str | None = None
    truncated: bool | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    request_id: str | None = None
    attempts: int | None = None
    settings: dict[str, Any] | None = None
    input_mode: str = "prompt"
    prompt_sha256: str | None = None
    parent_parsed_sha256: str | None = None  # the parent text the prompt was rendered from
    batch_id: str | None = None  # an answer from a provider's Batch API: the batch, and its request's custom_id
    custom_id: str | None = None
    raw_length: int
    raw_lines: int
    raw_path: str
    raw_metadata_path: str
    created_at: str | None = None


class ParseError(_Contract):
    code: str
    reason: str | None = None
    preview: str | None = None
    ctx: dict[str, Any] = Field(default_factory=dict)


class ParsedMetadata(_Contract):
    """``parsed_metadata.json``: which parser ran and whether it succeeded."""

    stage: str
    gen_id: str
    function: str
    parser_name: str
    success: bool
    error: ParseError | None = None
    run_id: str | None = None
    input_mode: str | None = None
    copied_from: str | None = None
    raw_sha256: str | None = None
    parsed_path: str
    parsed_metadata_path: str
    created_at: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        data = super().to_json_dict()
        data.setdefault("error", None)  # the earlier system always writes the key
        return data
