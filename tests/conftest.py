"""Shared fixtures: real files on temp data roots, a real LLM server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared is required beside the checkout (looked in {SHARED})")
    return SHARED


@pytest.fixture
def llm_server():
    from daydreaming.offline.server import serve

    with serve(port=0) as server:
        yield server
