"""Shared fixtures: real files on temp data roots, a real LLM server on loopback.

The default run needs nothing outside the repository: its fixtures are under
``tests/fixtures``. Tests marked ``shared`` read the reference material in ``../shared`` (the
earlier system's real catalogs, spec examples and judge answers); a run that does not ask for
them (``-m shared``) deselects them and says so in one line. ``.ci/run`` runs them whenever
``../shared`` exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Beside the checkout; DAYDREAMING_SHARED_DIR points elsewhere (e.g. from a git worktree).
SHARED = Path(os.environ.get("DAYDREAMING_SHARED_DIR") or REPO.parent / "shared")
SHARED_MARKER = "shared"
_DESELECTED = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``shared`` tests unless the marker expression names them."""
    if SHARED_MARKER in (config.option.markexpr or ""):
        return
    deselected = [item for item in items if item.get_closest_marker(SHARED_MARKER)]
    if deselected:
        items[:] = [item for item in items if not item.get_closest_marker(SHARED_MARKER)]
        config.hook.pytest_deselected(items=deselected)
    config.stash[_DESELECTED] = len(deselected)


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    count = config.stash.get(_DESELECTED, 0)
    if not count:
        return None
    return (f"deselected {count} tests marked '{SHARED_MARKER}' (they read ../shared reference material, "
            f"not part of the repository): run them with `python -m pytest -m {SHARED_MARKER}`")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The project's own test fixtures (catalogs, specs, judge answers)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared``; only ``shared`` tests use it, and they fail (never skip) without it."""
    if not (SHARED / "reference").is_dir():
        pytest.fail(f"tests marked '{SHARED_MARKER}' need ../shared beside the checkout (looked in {SHARED}); "
                    "set DAYDREAMING_SHARED_DIR to use another place", pytrace=False)
    return SHARED


@pytest.fixture
def llm_server():
    from daydreaming.offline.server import serve

    with serve(port=0) as server:
        yield server
