"""Cohort reports: what the judges said about a cohort's essays, in numbers people can check.

Pure table logic (``pivot``, ``summary``, ``agreement``, ``top``, ``stats``) is kept apart from
reading the store (``scores``, ``status``, ``state``), from rendering (``html``, ``plots``) and
from the workflow's entry points (``build``), so every number is unit-tested on plain
DataFrames. Rows come only from a cohort's membership, and every file is found through
``Paths``/``GensDataLayer``.
"""
