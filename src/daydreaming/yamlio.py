"""YAML reading for the files users write (the workflow config, cohort specs).

Why not ``yaml.safe_load``: PyYAML silently keeps the last of two equal keys (a second
``llm:`` would erase the first), and Snakemake reports a syntax error without its line. Here a
duplicate key is an error, and every error names the file, line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import DDError, Err


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys, which PyYAML would silently merge."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_strict(text: str) -> Any:
    """Parse YAML text with :class:`StrictLoader`; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


def _syntax_error(path: Path, exc: yaml.YAMLError) -> DDError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    ctx: dict[str, Any] = {"reason": "yaml_syntax", "path": str(path), "problem": problem}
    if mark is not None:
        ctx.update(line=mark.line + 1, column=mark.column + 1)
    ctx["fix"] = "correct the YAML at that line (indentation, a missing ':' or quote, a repeated key)"
    return DDError(Err.INVALID_CONFIG, ctx)


def read_yaml_file(path: str | Path) -> Any:
    """The parsed document; ``INVALID_CONFIG`` (``yaml_syntax``, line, column) or ``IO_ERROR``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DDError(Err.IO_ERROR, {"path": str(path), "error": str(exc)}) from None
    try:
        return load_strict(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(path, exc) from None


def check_yaml_file(path: str | Path) -> None:
    """Refuse a file that exists but does not parse (a missing one is the caller's business)."""
    if Path(path).is_file():
        read_yaml_file(path)


def key_line(path: str | Path | None, keys: Sequence[str | int]) -> int | None:
    """The 1-based line of ``keys`` in the YAML file, or of its deepest ancestor found there.

    Lets an error about ``stages.draft.top_p`` point at the line to edit. None when the file
    cannot be read or holds none of the keys.
    """
    if path is None:
        return None
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(key):
                    line, child = key_node.start_mark.line + 1, value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
