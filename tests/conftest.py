"""Shared fixtures: real files on temp data roots, a real LLM server on loopback.

The default run needs nothing outside the repository: its fixtures are under
``tests/fixtures``. Two sets of tests run only when the marker expression names them, and a
run that does not deselects them and says so in one line:

* ``slow``: the suites that take minutes (a real SLURM cluster, a real local model, kill -9 and
  interrupt loops, batches waited for): ``python -m pytest -m slow``. ``.ci/run`` runs them on
  every stop, after the default run;
* ``shared``: tests that read the reference material in ``../shared`` (the earlier system's real
  catalogs, spec examples and judge answers): ``python -m pytest -m shared``. ``.ci/run`` runs
  them whenever ``../shared`` exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Beside the checkout; DAYDREAMING_SHARED_DIR points elsewhere (e.g. from a git worktree).
SHARED = Path(os.environ.get("DAYDREAMING_SHARED_DIR") or REPO.parent / "shared")
SHARED_MARKER = "shared"
# marker -> why a run that does not name it leaves its tests out
OPT_IN = {
    "slow": "they take minutes: real SLURM, a real local model, kill -9 and interrupt loops, batches",
    SHARED_MARKER: "they read ../shared reference material, not part of the repository",
}
_DESELECTED = pytest.StashKey[dict[str, int]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the opt-in tests (``OPT_IN``) whose marker the marker expression does not name."""
    expression = config.option.markexpr or ""
    counts = {}
    for marker in OPT_IN:
        if marker in expression:
            continue
        deselected = [item for item in items if item.get_closest_marker(marker)]
        if deselected:
            items[:] = [item for item in items if not item.get_closest_marker(marker)]
            config.hook.pytest_deselected(items=deselected)
            counts[marker] = len(deselected)
    config.stash[_DESELECTED] = counts


def _notes(counts: dict[str, int]) -> list[str]:
    return [f"deselected {count} tests marked '{marker}' ({OPT_IN[marker]}): "
            f"run them with `python -m pytest -m {marker}`" for marker, count in counts.items()]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    return _notes(config.stash.get(_DESELECTED, {}))


# With pytest-xdist (-n) the workers collect and deselect; each hands its counts to the
# controller, which says it once at the end.
def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["opt_in_deselected"] = session.config.stash.get(_DESELECTED, {})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    counts = getattr(node, "workeroutput", {}).get("opt_in_deselected")
    if counts is not None:
        node.config.stash[_DESELECTED] = counts  # every worker collects the same tests


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession"):
        return  # without xdist the notes came with the collection
    for line in _notes(config.stash.get(_DESELECTED, {})):
        terminalreporter.write_line(line)


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
