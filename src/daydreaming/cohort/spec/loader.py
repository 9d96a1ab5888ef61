"""Turn a spec document into a validated :class:`Spec` (the language: docs/spec-language.md).

Checks here are the ones that need only the document: shapes, value types, rule sections, the
tuple-axis and ``field_order`` constraints. Checks that depend on what earlier rules did to the
axes (domains, collisions, balance) belong to the expander, which applies rules in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from daydreaming.cohort.spec.errors import _UNSET, SpecDslError
from daydreaming.cohort.spec.models import Level, PairRule, Rule, Spec, SubsetRule, TieRule, TupleRule
from daydreaming.cohort.spec.payloads import file_ref, read_payload, read_spec_document

TOP_LEVEL_KEYS = ("axes", "rules", "output")
DEPRECATED_OUTPUT_KEYS = ("order", "expand_pairs", "keep_pair_axis", "expand_ties", "expand_tuples", "keep_tuple_axis")
BALANCES = ("left", "right", "both")


def load_spec(source: str | Path | Mapping[str, Any], *, base_dir: str | Path | None = None) -> Spec:
    """Load a spec from a file, a directory holding ``config.yaml``, or an in-memory mapping.

    ``@file:`` references resolve against ``base_dir``, by default the spec file's directory.
    A mapping has no such default: resolving against the working directory would make the
    same spec mean different things in different jobs, so it must pass ``base_dir``.
    """
    base = Path(base_dir) if base_dir is not None else None
    if isinstance(source, Mapping):
        return parse_spec(source, base_dir=base, path=None)
    file = Path(source)
    if file.is_dir():
        if not (file / "config.yaml").is_file():
            raise SpecDslError("spec directory has no config.yaml", path=file)
        file = file / "config.yaml"
    return parse_spec(read_spec_document(file), base_dir=base or file.parent, path=file)


def parse_spec(data: Any, *, base_dir: Path | None, path: Path | None) -> Spec:
    """Validate a parsed spec document; ``path`` only labels errors and the result."""
    return _Parser(base_dir, path).spec(data)


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


class _Parser:
    def __init__(self, base_dir: Path | None, path: Path | None) -> None:
        self.base_dir = base_dir
        self.path = path

    # -- generic checks -------------------------------------------------------------------

    def fail(self, error: str, key: str | None = None, value: Any = _UNSET, **extra: Any) -> NoReturn:
        raise SpecDslError(error, key=key, value=value, path=self.path, **extra)

    def mapping(self, value: Any, key: str, allowed: Iterable[str] | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail("must be a mapping", key or None, value)
        for name in value:
            if not isinstance(name, str) or not name.strip():
                self.fail("mapping keys must be non-empty strings", key or None, name)
            if allowed is not None and name not in allowed:
                self.fail("unknown key", f"{key}.{name}" if key else name, value[name], allowed=sorted(allowed))
        return value

    def name(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail("must be a non-empty string", key, value)
        return value

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        names = tuple(self.name(item, key) for item in self.items(value, key, files=False))
        if len(set(names)) != len(names):
            self.fail("names repeat", key, list(names))
        return names

    def items(self, value: Any, key: str, *, files: bool = True) -> list[Any]:
        """A non-empty list, read from an ``@file:`` reference if it is one and ``files`` allows."""
        ref = file_ref(value) if files else None
        if ref is not None:
            if not ref:
                self.fail("empty @file reference", key, value)
            if self.base_dir is None:
                self.fail("@file reference needs a base_dir", key, value)
            value = read_payload(self.base_dir / ref, key=key, path=self.path)
        if not isinstance(value, (list, tuple)) or not value:
            self.fail("must be a non-empty list", key, value)
        return list(value)

    def level(self, value: Any, key: str) -> str:
        """Levels are strings; bare YAML integers (replicates ``1``, ``2``) are read as strings."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail("level must be a non-empty string", key, value)
        return value

    def nested_level(self, value: Any, key: str) -> Level:
        if isinstance(value, (list, tuple)):
            if not value:
                self.fail("level must be a non-empty string or list", key, value)
            return tuple(self.nested_level(item, key) for item in value)
        return self.level(value, key)

    # -- sections -------------------------------------------------------------------------

    def spec(self, data: Any) -> Spec:
        if not isinstance(data, Mapping):
            self.fail("spec must be a mapping", value=type(data).__name__)
        top = self.mapping(data, "", TOP_LEVEL_KEYS)
        if "axes" not in top:
            self.fail("axes required", "axes")
        axes = {
            name: tuple(self.level(v, f"axes.{name}") for v in self.items(payload, f"axes.{name}"))
            for name, payload in self.mapping(top["axes"], "axes").items()
        }
        rules = self.rules(top.get("rules"))
        derived = self.derived_axes(axes, [r for r in rules if isinstance(r, TupleRule)])
        ties = [r.name for r in rules if isinstance(r, TieRule)]
        columns = list(dict.fromkeys([*axes, *derived, *ties]))  # every column of a design row
        field_order = self.output(top.get("output"), columns)
        return Spec(
            axes={**axes, **derived},
            rules=tuple(rules),
            field_order=field_order,
            derived_axes=tuple(derived),
            path=self.path,
        )

    def rules(self, section: Any) -> list[Rule]:
        if section is None:
            return []
        parsers: dict[str, Callable[[str, Any, str], Rule]] = {
            "subsets": self.subset, "ties": self.tie, "pairs": self.pair, "tuples": self.tuple_}
        rules: list[Rule] = []
        for kind, entries in self.mapping(section, "rules", parsers).items():
            for name, payload in self.mapping(entries, f"rules.{kind}").items():
                rules.append(parsers[kind](name, payload, f"rules.{kind}.{name}"))
        return rules

    def subset(self, axis: str, keep: Any, key: str) -> SubsetRule:
        return SubsetRule(key=key, axis=axis, keep=tuple(self.level(v, key) for v in self.items(keep, key)))

    def tie(self, name: str, payload: Any, key: str) -> TieRule:
        if isinstance(payload, Mapping):
            if "to" in payload:
                self.fail("tie may not use 'to'; the mapping key is the canonical name", f"{key}.to", payload["to"])
            self.mapping(payload, key, ("axes",))
            return TieRule(key=key, name=name, axes=self.names(payload.get("axes"), f"{key}.axes"))
        return TieRule(key=key, name=name, axes=self.names(payload, key))

    def pair(self, name: str, payload: Any, key: str) -> PairRule:
        spec = self.mapping(payload, key, ("left", "right", "allowed", "balance"))
        left = self.name(spec.get("left"), f"{key}.left")
        right = self.name(spec.get("right"), f"{key}.right")
        if left == right:
            self.fail("pair left and right must differ", f"{key}.right", right)
        allowed = []
        for entry in self.items(spec.get("allowed"), f"{key}.allowed"):
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                self.fail("pair.allowed entries must be [left, right]", f"{key}.allowed", entry)
            allowed.append(
                (self.nested_level(entry[0], f"{key}.allowed"), self.nested_level(entry[1], f"{key}.allowed"))
            )
        balance = spec.get("balance")
        if balance is not None and balance not in BALANCES:
            self.fail("pair.balance must be left, right or both", f"{key}.balance", balance)
        return PairRule(key=key, name=name, left=left, right=right, allowed=tuple(allowed), balance=balance)

    def tuple_(self, name: str, payload: Any, key: str) -> TupleRule:
        if isinstance(payload, Mapping) and "expand" in payload:
            self.fail("tuple.expand is deprecated", f"{key}.expand", payload["expand"])
        spec = self.mapping(payload, key, ("axes", "items"))
        axes = self.names(spec.get("axes"), f"{key}.axes")
        items = []
        for entry in self.items(spec.get("items"), f"{key}.items"):
            if len(axes) == 1 and not isinstance(entry, (list, tuple)):
                entry = (entry,)  # a one-column CSV yields bare strings
            if not isinstance(entry, (list, tuple)) or len(entry) != len(axes):
                self.fail("tuple item must have one value per axis", f"{key}.items", entry, axes=list(axes))
            items.append(tuple(self.level(v, f"{key}.items") for v in entry))
        return TupleRule(key=key, name=name, axes=axes, items=tuple(items))

    def derived_axes(self, declared: Mapping[str, Any], tuples: list[TupleRule]) -> dict[str, tuple[str, ...]]:
        """Tuple component axes get their levels from the items, so they may not be declared."""
        derived: dict[str, tuple[str, ...]] = {}
        for rule in tuples:
            for index, axis in enumerate(rule.axes):
                if axis in declared:
                    self.fail("tuple axis may not provide explicit levels", f"{rule.key}.axes", axis)
                if axis in derived:
                    self.fail("axis belongs to more than one tuple", f"{rule.key}.axes", axis)
                derived[axis] = _dedupe(item[index] for item in rule.items)
        return derived

    def output(self, section: Any, columns: list[str]) -> tuple[str, ...]:
        """``field_order``: every column of the rows, each once, in the order the rows will have.

        A column left out used to be appended silently; a spec then meant something its author
        did not write down, so an incomplete list is refused.
        """
        if section is None:
            self.fail("output.field_order required", "output.field_order")
        if isinstance(section, Mapping):
            for flag in DEPRECATED_OUTPUT_KEYS:
                if flag in section:
                    self.fail(f"output.{flag} is deprecated", f"output.{flag}", section[flag])
        output = self.mapping(section, "output", ("field_order",))
        order = output.get("field_order")
        if not isinstance(order, list):
            self.fail("output.field_order required", "output.field_order", order)
        names = tuple(self.name(item, "output.field_order") for item in order)
        for name in names:
            if name not in columns:
                self.fail("output.field_order names an undefined axis", "output.field_order", name,
                          allowed=columns)
        if len(set(names)) != len(names):
            self.fail("names repeat", "output.field_order", list(names))
        missing = [c for c in columns if c not in names]
        if missing:
            self.fail("output.field_order must list every column", "output.field_order", list(names),
                      missing=missing, fix=f"add {', '.join(missing)} to output.field_order")
        return names
