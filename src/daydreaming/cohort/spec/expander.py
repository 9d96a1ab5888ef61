"""Expand a :class:`Spec` into design rows (the language: docs/spec-language.md).

Rules rewrite a small table of axes (name -> levels) in declaration order: a pair or tuple
replaces its member axes with one synthetic axis whose levels are the allowed combinations, a
tie merges axes into one. The design is then the cartesian product of what is left. Each axis
carries a node that knows which output columns its levels expand back into, and every level is
expanded once up front, so building a row is a tuple concatenation rather than per-row rule
replay: a 20,000-row design costs a few tens of milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, product
from random import Random
from typing import Any

from daydreaming.cohort.spec.errors import SpecDslError
from daydreaming.cohort.spec.models import Level, PairRule, Rule, Spec, SubsetRule, TieRule, TupleRule

Row = dict[str, str]


class _Leaf:
    """A declared (or tuple-derived) axis: one column, the level itself."""

    def __init__(self, name: str) -> None:
        self.columns: tuple[str, ...] = (name,)

    def flatten(self, level: Level) -> tuple[Level, ...]:
        return (level,)


class _Group:
    """A pair or tuple axis: its level is a tuple with one entry per member axis."""

    def __init__(self, members: Sequence[_Leaf | _Group | _Tie]) -> None:
        self.members = tuple(members)
        self.columns: tuple[str, ...] = tuple(chain.from_iterable(m.columns for m in self.members))

    def flatten(self, level: Level) -> tuple[Level, ...]:
        return tuple(chain.from_iterable(m.flatten(v) for m, v in zip(self.members, level)))


class _Tie:
    """A tied axis: every member receives the same level; a new canonical name is a column too."""

    def __init__(self, name: str, members: Sequence[_Leaf | _Tie], keep_name: bool) -> None:
        self.members = tuple(members)
        self.keep_name = keep_name
        own = (name,) if keep_name else ()
        self.columns: tuple[str, ...] = own + tuple(chain.from_iterable(m.columns for m in self.members))

    def flatten(self, level: Level) -> tuple[Level, ...]:
        own = (level,) if self.keep_name else ()
        return own + tuple(chain.from_iterable(m.flatten(level) for m in self.members))


_Node = _Leaf | _Group | _Tie


class _Design:
    """The axis table while rules are applied; see the module docstring."""

    def __init__(self, spec: Spec) -> None:
        self.order: list[str] = list(spec.axes)
        self.levels: dict[str, list[Level]] = {name: list(dict.fromkeys(v)) for name, v in spec.axes.items()}
        self.nodes: dict[str, _Node] = {name: _Leaf(name) for name in spec.axes}
        self.alias: dict[str, str] = {}  # tied-away axis -> the tie that absorbed it
        self.taken: set[str] = set(spec.axes)

    def apply(self, rule: Rule) -> None:
        handlers: dict[type, Callable[[Any], None]] = {
            SubsetRule: self.subset, TieRule: self.tie, PairRule: self.pair, TupleRule: self.tuple_}
        handlers[type(rule)](rule)

    # -- helpers --------------------------------------------------------------------------

    def resolve(self, name: str, key: str) -> str:
        """Follow ties, so rules may keep using an axis name after it was tied away."""
        resolved = name
        while resolved in self.alias:
            resolved = self.alias[resolved]
        if resolved not in self.levels:
            extra: dict[str, Any] = {"tied_into": resolved} if resolved != name else {}
            raise SpecDslError(
                "rule names an axis that is not (or no longer) in the design", key=key, value=name, **extra
            )
        return resolved

    def resolve_all(self, names: Iterable[str], key: str) -> list[str]:
        resolved = [self.resolve(name, key) for name in names]
        if len(set(resolved)) != len(resolved):
            raise SpecDslError("rule names the same axis twice", key=key, value=resolved)
        return resolved

    def claim(self, name: str, key: str) -> None:
        if name in self.taken:
            raise SpecDslError("rule name is already an axis or rule name", key=key, value=name)
        self.taken.add(name)

    def replace(self, members: list[str], name: str, levels: list[Level], node: _Node, anchor: str) -> None:
        """Put ``name`` in ``anchor``'s slot of the axis order and drop the other members."""
        self.order[self.order.index(anchor)] = name
        for member in members:
            if member != anchor:
                self.order.remove(member)
            if member != name:
                del self.levels[member], self.nodes[member]
        self.levels[name] = levels
        self.nodes[name] = node

    def first(self, names: list[str]) -> str:
        return min(names, key=self.order.index)

    def check_domain(self, members: list[str], entries: Iterable[Sequence[Level]], key: str) -> None:
        """Every value of every entry must be a current level of its member axis."""
        domains = [set(self.levels[m]) for m in members]
        for entry in entries:
            if len(entry) != len(members):
                raise SpecDslError("entry must have one value per axis", key=key, value=list(entry))
            for value, domain, axis in zip(entry, domains, members):
                if value not in domain:
                    raise SpecDslError("value outside the axis levels", key=key, value=list(entry), axis=axis)

    # -- rules ----------------------------------------------------------------------------

    def subset(self, rule: SubsetRule) -> None:
        axis = self.resolve(rule.axis, rule.key)
        keep = set(rule.keep)
        kept: list[Level] = [level for level in self.levels[axis] if level in keep]
        if not kept:
            raise SpecDslError("subset removed all levels", key=rule.key, value=list(rule.keep), axis=axis)
        self.levels[axis] = kept

    def tie(self, rule: TieRule) -> None:
        members = self.resolve_all(rule.axes, rule.key)
        for member in members:
            if isinstance(self.nodes[member], _Group):
                raise SpecDslError("tie cannot join a pair or tuple axis", key=rule.key, value=member)
        keep_name = rule.name not in members
        if keep_name:
            self.claim(rule.name, rule.key)
        others = [set(self.levels[m]) for m in members[1:]]
        common = [level for level in self.levels[members[0]] if all(level in s for s in others)]
        if not common:
            raise SpecDslError("tie produced an empty intersection", key=rule.key, value=members)
        node = _Tie(rule.name, [self.nodes[m] for m in members], keep_name)  # type: ignore[misc]
        anchor = self.first(members) if keep_name else rule.name
        self.replace(members, rule.name, common, node, anchor)
        self.alias.update({m: rule.name for m in members if m != rule.name})

    def pair(self, rule: PairRule) -> None:
        self.claim(rule.name, rule.key)
        members = self.resolve_all((rule.left, rule.right), rule.key)
        self.check_domain(members, rule.allowed, f"{rule.key}.allowed")
        pairs = list(dict.fromkeys(rule.allowed))
        _check_balance(pairs, rule)
        node = _Group([self.nodes[m] for m in members])
        self.replace(members, rule.name, pairs, node, self.first(members))  # type: ignore[arg-type]

    def tuple_(self, rule: TupleRule) -> None:
        self.claim(rule.name, rule.key)
        members = self.resolve_all(rule.axes, rule.key)
        self.check_domain(members, rule.items, f"{rule.key}.items")
        node = _Group([self.nodes[m] for m in members])
        self.replace(members, rule.name, list(dict.fromkeys(rule.items)), node, self.first(members))

    # -- output ---------------------------------------------------------------------------

    def layout(self) -> tuple[list[str], list[list[tuple[Level, ...]]]]:
        """Output columns in axis order, and for each remaining axis its levels pre-expanded."""
        columns = [c for name in self.order for c in self.nodes[name].columns]
        expanded = [[self.nodes[name].flatten(level) for level in self.levels[name]] for name in self.order]
        return columns, expanded


def _check_balance(pairs: list[tuple[Level, Level]], rule: PairRule) -> None:
    """``balance`` guards against designs that silently over-sample some left/right values."""
    sides = {"left": (0,), "right": (1,), "both": (0, 1), None: ()}[rule.balance]
    for index in sides:
        counts = Counter(pair[index] for pair in pairs)
        if len(set(counts.values())) > 1:
            raise SpecDslError(
                "pair is unbalanced",
                key=f"{rule.key}.balance",
                value=rule.balance,
                counts=[[level, n] for level, n in counts.items()],
            )


def expand_design(spec: Spec, shuffle_seed: int | None = None) -> list[Row]:
    """All design rows: the product of the axes left after the rules, in axis order.

    With ``shuffle_seed`` the rows are shuffled by ``random.Random(shuffle_seed).shuffle`` on the
    product list, the same call the earlier system makes, so a given value gives the same order
    in both.
    Columns come in ``field_order``, which the loader checks lists every column.
    """
    design = _Design(spec)
    try:
        for rule in spec.rules:
            design.apply(rule)
    except SpecDslError as err:
        raise err.with_path(spec.path)
    columns, expanded = design.layout()
    listed = set(spec.field_order)
    final = [c for c in spec.field_order if c in columns] + [c for c in columns if c not in listed]
    position = {c: i for i, c in enumerate(columns)}
    perm = [position[c] for c in final]
    combos = list(product(*expanded))
    if shuffle_seed is not None:
        Random(shuffle_seed).shuffle(combos)
    rows: list[Row] = []
    for combo in combos:
        flat = tuple(chain.from_iterable(combo))
        rows.append(dict(zip(final, [flat[i] for i in perm])))  # type: ignore[misc]
    return rows
