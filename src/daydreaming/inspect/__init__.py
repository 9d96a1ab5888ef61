"""Inspecting a store without running the workflow: ``daydreaming status`` and ``check``.

``status`` counts (fast, for "what is missing"), ``check`` reads everything (for "what is
wrong") and ``check --fix`` repairs what cannot cost a paid answer.
"""
