"""config/config.yaml has one source of truth: the pydantic models of ``daydreaming.config``.

The JSON schema (what Snakemake's ``validate()`` and editors read) is generated from them and
committed; these tests check that the committed file is current, that both accept and refuse
the same values, that every key is described and has one default whatever the file's shape,
and that a bad file is refused with a coded error naming the file, the key path, the allowed
values and the line.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, TypeAdapter

from daydreaming import config_schema
from daydreaming.config import DEFAULT_MAX_TOKENS, PipelineConfig, ProviderSettings, load_config
from daydreaming.errors import DDError, Err

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "config.yaml"
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
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


def refusal(data: Any, path: Path | str | None = "config/config.yaml") -> dict[str, Any]:
    with pytest.raises(DDError) as info:
        load_config(data, path=path)
    assert info.value.code is Err.INVALID_CONFIG
    return info.value.ctx


# -- one source: the committed schema is the models' ------------------------------------------


def test_committed_schema_is_generated_from_the_models() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == config_schema.render(), (
        "config/schema/config.schema.yaml is stale: run `python -m daydreaming.config_schema --write`")


def test_config_readme_documents_every_key_as_the_models_do() -> None:
    readme = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    assert readme == config_schema.with_key_table(readme), (
        "config/README.md's key table is stale: run `python -m daydreaming.config_schema --write`")
    for path, _ in _walk(config_schema.generate()):
        if path and not path.endswith(("[]", "<name>")):  # an item or a name is not a key
            assert f"| `{path}` |" in readme, path


def _walk(node: dict[str, Any], path: str = ""):
    """Every (dotted path, schema node) of values a config file can hold."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{name}" if path else name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, f"{path}.<name>")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")


def test_every_key_has_a_description_and_a_default_and_no_unknown_keys(schema: dict[str, Any]) -> None:
    missing = []
    for path, node in _walk(schema):
        if "properties" in node and node.get("additionalProperties") is not False:
            missing.append(f"{path or '<top>'}: additionalProperties must be false")
        if node.get("type") == "object" and "properties" not in node and not isinstance(
                node.get("additionalProperties"), dict):
            missing.append(f"{path}: an open mapping must say what its values are")
        required = set(node.get("required", []))
        for name, sub in node.get("properties", {}).items():
            key = f"{path}.{name}" if path else name
            if not sub.get("description"):
                missing.append(f"{key}: no description")
            if name not in required and "default" not in sub:
                missing.append(f"{key}: no default")
    assert missing == []


def _disagreements(model: type[BaseModel], schema_node: dict[str, Any], path: str = "") -> list[str]:
    """Walk the models beside the schema: same keys, descriptions, required keys and defaults.

    A schema default must mean the model's default: validated as the field's type it gives the
    same value (a section's ``{}`` gives the section with every key at its default).
    """
    problems = []
    props = schema_node.get("properties", {})
    if set(props) != set(model.model_fields):
        problems.append(f"{path or '<top>'}: schema keys {sorted(props)} != model fields {sorted(model.model_fields)}")
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    if required != set(schema_node.get("required", [])):
        problems.append(f"{path or '<top>'}: required {sorted(required)} != schema {schema_node.get('required')}")
    for name, field in model.model_fields.items():
        key, node = f"{path}.{name}" if path else name, props.get(name, {})
        if node.get("description") != field.description:
            problems.append(f"{key}: description differs")
        if field.is_required():
            continue
        default = field.get_default(call_default_factory=True)
        if "default" not in node or TypeAdapter(field.annotation).validate_python(node["default"]) != default:
            problems.append(f"{key}: schema default {node.get('default')!r} is not the model's {default!r}")
        if isinstance(default, BaseModel):
            problems += _disagreements(type(default), node, key)
        elif name == "providers":
            problems += _disagreements(ProviderSettings, node["additionalProperties"], f"{key}.<name>")
    return problems


def test_models_and_schema_have_the_same_keys_descriptions_and_defaults(schema: dict[str, Any]) -> None:
    assert _disagreements(PipelineConfig, schema) == []


# -- the shipped file ----------------------------------------------------------------------------


def test_shipped_config_matches_the_schema_and_loads(config: dict[str, Any], validator) -> None:
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)] == []
    parsed = load_config(CONFIG)
    assert parsed.rerun_policy == "keep" and parsed.cohorts == ["demo"]
    assert parsed.stage("draft").max_tokens == config["stages"]["draft"]["max_tokens"]
    assert parsed.stage("evaluation").temperature == config["stages"]["evaluation"]["temperature"]
    assert set(parsed.llm.providers) == set(config["llm"]["providers"])
    # generation settings are what is sent to the provider: no None values
    assert parsed.stage("essay").generation() == {"max_tokens": config["stages"]["essay"]["max_tokens"],
                                                  "temperature": config["stages"]["essay"]["temperature"]}


# -- one default per setting, whatever the file's shape -------------------------------------------

SHAPES = [
    {"cohorts": ["demo"]},
    {"cohorts": ["demo"], "stages": {}},
    {"cohorts": ["demo"], "stages": {"draft": {}}},
    {"cohorts": ["demo"], "stages": {"essay": {"temperature": 0.5}}},
    {"cohorts": ["demo"], "stages": {"draft": {"temperature": 0.5}, "essay": {}, "evaluation": {"seed": 3}}},
]


@pytest.mark.parametrize("data", SHAPES, ids=range(len(SHAPES)))
def test_a_setting_left_out_has_one_default(data: dict[str, Any], validator) -> None:
    assert validator.is_valid(data)
    parsed = load_config(data)
    assert {s: parsed.stage(s).max_tokens for s in ("draft", "essay", "evaluation")} == dict.fromkeys(
        ("draft", "essay", "evaluation"), DEFAULT_MAX_TOKENS)
    assert (parsed.stage("draft").min_lines, parsed.stage("essay").min_lines) == (3, None)
    assert parsed.rerun_policy == "keep" and parsed.llm.default_provider == "offline"
    assert parsed.llm.providers["offline"].base_url == "offline:"
    assert parsed.llm.min_free_disk_mb == 100 and parsed.llm.max_cost_usd is None


def test_provider_defaults_include_the_retry_wait_cap() -> None:
    provider = load_config({"cohorts": [], "llm": {"providers": {"offline": {"base_url": "offline:"}}}}).llm.providers
    assert provider["offline"].max_retry_wait_s == 120 and provider["offline"].max_concurrent == 8


@pytest.mark.parametrize("written", ["seed", "keep"])
def test_the_old_rerun_policy_name_is_accepted_and_means_keep(tmp_path: Path, validator, written: str) -> None:
    """Config files written when ``keep`` was called ``seed`` load unchanged, with the same meaning."""
    path = tmp_path / "config.yaml"
    path.write_text(f"cohorts: [demo]\nrerun_policy: {written}\n", encoding="utf-8")
    assert validator.is_valid({"cohorts": ["demo"], "rerun_policy": written})
    assert load_config(path).rerun_policy == "keep"
    assert load_config({"cohorts": ["demo"], "rerun_policy": written}).model_dump()["rerun_policy"] == "keep"


# -- the same values accepted and refused by both -------------------------------------------------

GOOD_VALUES = [
    ("stages.draft.top_p", 1), ("stages.draft.top_p", 0.05), ("stages.draft.temperature", 0),
    ("stages.draft.min_lines", None), ("stages.draft.min_lines", 0), ("stages.essay.seed", -4),
    ("llm.providers.openrouter.api_key_env", ""), ("llm.providers.openrouter.api_key_env", None),
    ("llm.providers.openrouter.headers", {"HTTP-Referer": "https://example.org"}),
    ("llm.providers.openrouter.max_retry_wait_s", 0.5), ("llm.min_free_disk_mb", 0), ("llm.max_cost_usd", 0),
    ("rerun_policy", "make"), ("rerun_policy", "keep"), ("rerun_policy", "seed"),
    ("cohorts", []), ("data_root", "/tmp/somewhere"),
]


@pytest.mark.parametrize(("dotted", "value"), GOOD_VALUES, ids=[f"{d}={v!r}" for d, v in GOOD_VALUES])
def test_good_value_is_accepted_by_schema_and_model(config: dict[str, Any], validator, dotted: str, value: Any) -> None:
    data = with_value(config, dotted, value)
    assert validator.is_valid(data)
    load_config(data)


BAD_VALUES = [
    ("rerun_policy", "sometimes", "rerun_policy"),
    ("rerun_polcy", "make", "rerun_polcy"),  # a typo is not silently ignored
    ("stages.draft.max_tokens", 0, "stages.draft.max_tokens"),
    ("stages.essay.max_tokens", -5, "stages.essay.max_tokens"),
    ("stages.draft.max_tokens", "many", "stages.draft.max_tokens"),
    ("stages.draft.max_token", 100, "stages.draft.max_token"),
    ("stages.essays", {"max_tokens": 10}, "stages.essays"),
    ("stages.draft.seed", 1.5, "stages.draft.seed"),
    ("stages.draft.top_p", 0, "stages.draft.top_p"),  # the provider would refuse it: refused at load
    ("stages.draft.top_p", 1.5, "stages.draft.top_p"),
    ("stages.draft.temperature", -0.5, "stages.draft.temperature"),
    ("stages.draft.min_lines", -1, "stages.draft.min_lines"),
    ("stages.draft.timeout_s", 0, "stages.draft.timeout_s"),
    ("cohorts", "demo", "cohorts"),
    ("cohorts", ["../outside"], "cohorts[0]"),
    ("llm.providers.extra", {"api_key_env": "KEY"}, "llm.providers.extra.base_url"),
    ("llm.providers.openrouter.api_key_env", "sk-or-v1-0123 pasted key", "llm.providers.openrouter.api_key_env"),
    ("llm.providers.openrouter.headers", {"Authorization": "Bearer x"}, "llm.providers.openrouter.headers"),
    ("llm.providers.openrouter.max_retries", -1, "llm.providers.openrouter.max_retries"),
    ("llm.providers.openrouter.timeout_s", 0, "llm.providers.openrouter.timeout_s"),
    ("llm.providers.openrouter.max_concurrent", 0, "llm.providers.openrouter.max_concurrent"),
    ("llm.providers.openrouter.requests_per_minute", 0, "llm.providers.openrouter.requests_per_minute"),
    ("llm.providers.openrouter.max_retry_wait_s", 0, "llm.providers.openrouter.max_retry_wait_s"),
    ("llm.model_providers", {"writer": 1}, "llm.model_providers.writer"),
    ("llm.max_cost_usd", -1, "llm.max_cost_usd"),
    ("llm.min_free_disk_mb", -1, "llm.min_free_disk_mb"),
    ("llm.min_free_disk_mb", 1.5, "llm.min_free_disk_mb"),
    ("llm.unknown", True, "llm.unknown"),
]


@pytest.mark.parametrize(("dotted", "value", "field"), BAD_VALUES, ids=[f"{d}={v!r}" for d, v, _ in BAD_VALUES])
def test_bad_value_is_refused_by_schema_and_model(config: dict[str, Any], validator, dotted: str, value: Any,
                                                  field: str) -> None:
    bad = with_value(config, dotted, value)
    assert not validator.is_valid(bad)
    ctx = refusal(bad)
    assert ctx["reason"] == "invalid_config"
    assert ctx["path"] == "config/config.yaml"
    assert ctx["field"] == field
    assert ctx["allowed"] and ctx["fix"]


def test_missing_cohorts_is_refused_by_both(config: dict[str, Any], validator) -> None:
    data = copy.deepcopy(config)
    del data["cohorts"]
    assert not validator.is_valid(data)
    ctx = refusal(data)
    assert (ctx["field"], ctx["type"]) == ("cohorts", "missing")


# -- what the error tells the user -----------------------------------------------------------------


def test_error_names_file_line_key_value_and_allowed_values(tmp_path: Path, config: dict[str, Any]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.read_text(encoding="utf-8").replace("    temperature: 0.7\n    min_lines: 3",
                                                                "    temperature: 0.7\n    top_p: 0\n    min_lines: 3"))
    ctx = refusal(path, path=None)
    assert ctx["path"] == str(path)
    assert ctx["field"] == "stages.draft.top_p" and ctx["value"] == 0
    assert ctx["allowed"] == "a number > 0 and <= 1, or null"
    assert path.read_text().splitlines()[ctx["line"] - 1].strip() == "top_p: 0"


def test_a_typo_is_refused_with_the_key_it_resembles() -> None:
    ctx = refusal({"cohorts": ["demo"], "rerun_polcy": "make"})
    assert ctx["field"] == "rerun_polcy" and ctx["type"] == "extra_forbidden"
    assert ctx["allowed"] == ["data_root", "cohorts", "rerun_policy", "stages", "llm"]
    assert "rerun_policy" in ctx["fix"]


def test_an_enum_lists_its_values() -> None:
    assert refusal({"cohorts": [], "rerun_policy": "always"})["allowed"] == "one of keep, make"


@pytest.mark.parametrize(("llm", "field"), [
    ({"default_provider": "openai"}, "llm.default_provider"),
    ({"model_providers": {"writer": "openai"}}, "llm.model_providers.writer"),
])
def test_a_provider_name_must_name_a_configured_provider(llm: dict[str, Any], field: str) -> None:
    ctx = refusal({"cohorts": [], "llm": llm})
    assert ctx["field"] == field and ctx["value"] == "openai" and ctx["allowed"] == ["offline"]


def test_an_unset_default_provider_may_name_no_provider() -> None:
    """Left at its default (offline), it is used only for models whose provider is not configured."""
    parsed = load_config({"cohorts": [], "llm": {"providers": {"openrouter": {"base_url": "https://x/v1"}}}})
    assert parsed.llm.default_provider == "offline" and list(parsed.llm.providers) == ["openrouter"]


def test_values_under_providers_that_may_be_secret_are_not_echoed() -> None:
    key = "sk-or-v1-abcdef0123456789"
    for provider in ({"base_url": "offline:", "api_key": key}, {"base_url": "offline:", "api_key_env": key},
                     {"base_url": "offline:", "headers": {"X-Api-Key": key}}):
        with pytest.raises(DDError) as info:
            load_config({"cohorts": [], "llm": {"providers": {"offline": provider}}})
        assert key not in str(info.value)
        assert info.value.ctx["field"].startswith("llm.providers.offline.")


def test_several_problems_are_all_listed() -> None:
    ctx = refusal({"cohorts": [], "stages": {"draft": {"top_p": 0, "max_tokens": 0}}})
    assert {e["field"] for e in ctx["errors"]} == {"stages.draft.top_p", "stages.draft.max_tokens"}


# -- YAML itself -------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("cohorts:\n  - demo\nstages:\n  draft:\n    max_tokens: [100\n  essay: {}\n")
    ctx = refusal(path, path=None)
    assert ctx["reason"] == "yaml_syntax" and ctx["path"] == str(path)
    assert ctx["line"] == 6 and ctx["column"] >= 1 and ctx["problem"]  # where the unclosed list is noticed


def test_a_repeated_key_is_refused_not_merged(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("cohorts: [a]\nllm:\n  max_cost_usd: 1\nllm:\n  default_provider: offline\n")
    ctx = refusal(path, path=None)
    assert ctx["reason"] == "yaml_syntax" and ctx["line"] == 4 and "llm" in ctx["problem"]


def test_an_empty_file_is_refused_for_its_missing_cohorts(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# nothing yet\n")
    assert refusal(path, path=None)["field"] == "cohorts"
