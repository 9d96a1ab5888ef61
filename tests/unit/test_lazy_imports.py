"""What reads settings without calling a model does not load the openai SDK (0.4 s a process):
``status``, ``check`` and ``estimate`` (a 20,000-generation ``status`` takes under 2 s), and
Snakemake's parse of the Snakefile (``startup``, ``jobs``), unless batches are in use."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["daydreaming.config", "daydreaming.inspect.cli", "daydreaming.estimate",
                                    "daydreaming.startup", "daydreaming.jobs"])
def test_reading_settings_does_not_load_the_sdk(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'openai'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_client_still_loads_on_first_use() -> None:
    from daydreaming.llm import LLMClient
    from daydreaming.llm.client import LLMClient as Direct

    assert LLMClient is Direct
