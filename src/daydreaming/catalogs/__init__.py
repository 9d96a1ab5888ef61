"""Catalogs of ``data/1_raw``: concepts, templates, LLM models, and concept combinations."""

from .combos import author_combos, combo_rows
from .csvio import read_csv_records, read_csv_rows
from .load import (
    COMBO_COLUMNS,
    LEVELS,
    MODEL_COLUMNS,
    TEMPLATE_COLUMNS,
    CatalogCache,
    combos,
    concepts,
    load_combos,
    load_concepts,
    load_models,
    load_templates,
    models,
    template_for,
    templates,
)
from .models import Combo, Concept, ModelEntry, Template

__all__ = [
    "COMBO_COLUMNS", "LEVELS", "MODEL_COLUMNS", "TEMPLATE_COLUMNS", "CatalogCache", "Combo", "Concept", "ModelEntry",
    "Template", "author_combos", "combo_rows", "combos", "concepts", "load_combos", "load_concepts", "load_models",
    "load_templates", "models", "read_csv_records", "read_csv_rows", "template_for", "templates",
]
