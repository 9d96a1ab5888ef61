"""Pydantic models of catalog rows: what a valid template, model, concept and combo is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Template(_Row):
    template_id: str = Field(pattern=ID_PATTERN)
    parser: str = "identity"
    generator: Literal["llm", "copy"] = "llm"
    name: str = ""
    description: str = ""
    options: dict[str, str] = Field(default_factory=dict)  # extra columns (e.g. score_scale)

    @field_validator("generator", mode="before")
    @classmethod
    def _generator(cls, value: object) -> object:
        return (value or "llm").strip().lower() if isinstance(value, str) or value is None else value

    @field_validator("parser", mode="before")
    @classmethod
    def _parser(cls, value: object) -> object:
        return value.strip() or "identity" if isinstance(value, str) else value or "identity"


class ModelEntry(_Row):
    id: str = Field(pattern=ID_PATTERN)
    model: str = Field(min_length=1)
    provider: str = ""
    display_name: str = ""
    specialization: str = ""
    prompt_usd_per_mtok: float | None = Field(None, ge=0)
    completion_usd_per_mtok: float | None = Field(None, ge=0)
    batch_discount: float | None = Field(None, ge=0, lt=1)  # blank: the provider's batch.discount

    @field_validator("prompt_usd_per_mtok", "completion_usd_per_mtok", "batch_discount", mode="before")
    @classmethod
    def _blank_price(cls, value: object) -> object:
        return None if value == "" else value


class Concept(_Row):
    concept_id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    descriptions: dict[str, str] = Field(default_factory=dict)

    def content(self, level: str) -> str:
        """The earlier system's fallback chain: requested level, then paragraph, then sentence, then the name."""
        for candidate in (level, "paragraph", "sentence"):
            text = self.descriptions.get(candidate)
            if text:
                return text
        return self.name


class Combo(_Row):
    combo_id: str = Field(pattern=ID_PATTERN)
    description_level: str = "paragraph"
    concept_ids: tuple[str, ...]
