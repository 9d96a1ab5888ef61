"""Parsed, validated spec data: what the loader produces and the expander consumes.

Frozen and made of tuples so one loaded spec can be expanded many times (or shared between
threads) without an expansion ever changing it. Each rule keeps ``key``, its dotted location in
the spec, so errors the expander finds point at the YAML the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

# A level is a string; pair sides that name a tuple (or pair) axis are nested tuples of strings.
Level = Union[str, tuple["Level", ...]]  # noqa: UP007 - a recursive alias: "Level" | ... fails at runtime
Balance = Literal["left", "right", "both"]


@dataclass(frozen=True)
class SubsetRule:
    key: str
    axis: str
    keep: tuple[str, ...]


@dataclass(frozen=True)
class TieRule:
    key: str
    name: str
    axes: tuple[str, ...]


@dataclass(frozen=True)
class PairRule:
    key: str
    name: str
    left: str
    right: str
    allowed: tuple[tuple[Level, Level], ...]
    balance: Balance | None = None


@dataclass(frozen=True)
class TupleRule:
    key: str
    name: str
    axes: tuple[str, ...]
    items: tuple[tuple[str, ...], ...]


Rule = SubsetRule | TieRule | PairRule | TupleRule


@dataclass(frozen=True)
class Spec:
    """A cohort design: axes (declared, then tuple-derived), rules in YAML order, output order.

    ``axes`` stays a plain dict so a spec pickles (process pools); nothing here mutates it.
    """

    axes: Mapping[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    field_order: tuple[str, ...]
    derived_axes: tuple[str, ...] = ()
    path: Path | None = None
