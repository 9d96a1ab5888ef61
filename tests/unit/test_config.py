"""config/config.yaml: valid for the workflow's JSON schema and for the package's typed model,
and a bad value is refused by both (the workflow checks the schema, library callers the model)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from daydreaming.config import PipelineConfig
from daydreaming.errors import DDError, Err

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "config.yaml"
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def with_value(config: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(config)
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


def test_shipped_config_matches_the_schema(config: dict[str, Any], validator) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)]
    assert errors == []


def test_shipped_config_loads_into_the_model(config: dict[str, Any]) -> None:
    parsed = PipelineConfig.from_mapping(config, source=str(CONFIG))
    assert parsed.rerun_policy == "seed"
    assert parsed.cohorts == ["demo"]
    assert parsed.stage("draft").max_tokens == config["stages"]["draft"]["max_tokens"]
    assert parsed.stage("draft").min_lines == 3
    assert parsed.stage("evaluation").temperature == config["stages"]["evaluation"]["temperature"]
    assert set(parsed.llm.providers) == set(config["llm"]["providers"])
    assert parsed.llm.default_provider == config["llm"]["default_provider"]
    # generation settings are what is sent to the provider: no None values
    assert parsed.stage("essay").generation() == {"max_tokens": config["stages"]["essay"]["max_tokens"],
                                                  "temperature": config["stages"]["essay"]["temperature"]}


def test_minimal_config_gets_the_seed_defaults(validator) -> None:
    minimal = {"cohorts": ["demo"]}
    assert list(validator.iter_errors(minimal)) == []
    parsed = PipelineConfig.from_mapping(minimal)
    assert parsed.rerun_policy == "seed"
    assert {s: parsed.stage(s).max_tokens for s in ("draft", "essay", "evaluation")} == {
        "draft": 20480, "essay": 20480, "evaluation": 20480}
    assert parsed.stage("draft").min_lines == 3
    assert parsed.stage("essay").min_lines is None


# Values the schema refuses; each must be refused by the model too, naming the same field.
BAD_VALUES = [
    ("rerun_policy", "sometimes", "rerun_policy"),
    ("stages.draft.max_tokens", 0, "stages.draft.max_tokens"),
    ("stages.essay.max_tokens", -5, "stages.essay.max_tokens"),
    ("stages.draft.max_tokens", "many", "stages.draft.max_tokens"),
    ("stages.draft.max_token", 100, "stages.draft.max_token"),  # a typo is not silently ignored
    ("stages.essays", {"max_tokens": 10}, "stages.essays"),
    ("stages.draft.seed", 1.5, "stages.draft.seed"),
    ("cohorts", "demo", "cohorts"),
    ("llm.providers.extra", {"api_key_env": "KEY"}, "llm.providers.extra.base_url"),
    ("llm.model_providers", {"writer": 1}, "llm.model_providers.writer"),
    ("llm.unknown", True, "llm.unknown"),
]


@pytest.mark.parametrize(("dotted", "value", "field"), BAD_VALUES, ids=[f"{d}={v!r}" for d, v, _ in BAD_VALUES])
def test_bad_value_is_refused_by_schema_and_model(config: dict[str, Any], validator, dotted: str, value: Any,
                                                  field: str) -> None:
    bad = with_value(config, dotted, value)
    assert not validator.is_valid(bad)
    with pytest.raises(DDError) as info:
        PipelineConfig.from_mapping(bad, source="config/config.yaml")
    err = info.value
    assert err.code is Err.INVALID_CONFIG
    assert err.ctx["reason"] == "invalid_config"
    assert err.ctx["path"] == "config/config.yaml"
    assert err.ctx["field"].split(".[key]")[0] == field


def test_missing_cohorts_is_refused_by_the_schema(config: dict[str, Any], validator) -> None:
    data = copy.deepcopy(config)
    del data["cohorts"]
    assert not validator.is_valid(data)


# Range and pattern constraints of the schema that the model must share, so a library caller
# (Runtime.from_config, scripts) cannot send e.g. a negative temperature or a pasted API key.
SCHEMA_ONLY_CONSTRAINTS = [
    ("stages.draft.temperature", -0.5),
    ("stages.draft.top_p", 1.5),
    ("stages.draft.min_lines", -1),
    ("stages.draft.timeout_s", 0),
    ("cohorts", ["../outside"]),
    ("llm.providers.openrouter.api_key_env", "sk-or-v1-0123 pasted key"),
    ("llm.providers.openrouter.max_retries", -1),
    ("llm.providers.openrouter.timeout_s", 0),
    ("llm.providers.openrouter.max_concurrent", 0),
    ("llm.providers.openrouter.requests_per_minute", 0),
    ("llm.max_cost_usd", -1),
]


def test_model_enforces_every_schema_constraint(config: dict[str, Any], validator) -> None:
    accepted_by_model = []
    for dotted, value in SCHEMA_ONLY_CONSTRAINTS:
        bad = with_value(config, dotted, value)
        assert not validator.is_valid(bad), dotted
        try:
            PipelineConfig.from_mapping(bad)
        except DDError as err:
            assert err.code is Err.INVALID_CONFIG
            assert err.ctx["field"].startswith(dotted)
        else:
            accepted_by_model.append(f"{dotted}={value!r}")
    assert accepted_by_model == []
