"""What a cohort cost and what finishing it would add, per stage, model and template.

Actual figures are the answers in the store (``raw_metadata.json``: usage and ``cost_usd``,
the provider's figure or the catalog's prices); a copy costs nothing. Pending figures are what
``daydreaming estimate`` says about the calls a plain run would still make (missing answers,
failed calls), from the prompts and the average answer length per template. A shared generation
counts in every cohort that holds it: the table says what the cohort consumed, not who paid.
"""

from __future__ import annotations

import pandas as pd

KEYS = ("stage", "llm_model_id", "template_id")
ACTUAL = ("generations", "answered", "copies", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd",
          "unpriced_answers")
PENDING = ("pending_calls", "pending_prompt_tokens", "pending_completion_tokens", "pending_usd",
           "pending_unpriced_calls")
COST_COLUMNS = KEYS + ACTUAL + PENDING
TOTAL = "total"
FLOAT_COLUMNS = ("cost_usd", "pending_usd")


def actual_costs(generations: pd.DataFrame) -> pd.DataFrame:
    """Per (stage, model, template): generations, answers bought, copies, tokens and USD."""
    frame = generations.copy()
    frame["answered"] = frame["raw_chars"].notna() & (frame["mode"] != "copy")
    frame["copies"] = frame["mode"] == "copy"
    frame["unpriced_answers"] = frame["answered"] & frame["cost_usd"].isna()
    for column in KEYS:
        frame[column] = frame[column].fillna("")
    grouped = frame.groupby(list(KEYS), sort=True)
    out = grouped.agg(generations=("gen_id", "size"), answered=("answered", "sum"), copies=("copies", "sum"),
                      prompt_tokens=("prompt_tokens", "sum"), completion_tokens=("completion_tokens", "sum"),
                      reasoning_tokens=("reasoning_tokens", "sum"), cost_usd=("cost_usd", "sum"),
                      unpriced_answers=("unpriced_answers", "sum"))
    return out.reset_index()


def pending_costs(calls: list[dict]) -> pd.DataFrame:
    """Per (stage, model, template) from estimated calls (dicts with ``stage``, ``model_id``,
    ``template_id``, ``prompt_tokens``, ``completion_tokens``, ``usd``)."""
    frame = pd.DataFrame(calls, columns=["stage", "model_id", "template_id", "prompt_tokens", "completion_tokens",
                                         "usd"])
    frame = frame.rename(columns={"model_id": "llm_model_id"})
    for column in KEYS:
        frame[column] = frame[column].fillna("")
    frame["unpriced"] = frame["usd"].isna()
    grouped = frame.groupby(list(KEYS), sort=True)
    out = grouped.agg(pending_calls=("stage", "size"), pending_prompt_tokens=("prompt_tokens", "sum"),
                      pending_completion_tokens=("completion_tokens", "sum"), pending_usd=("usd", "sum"),
                      pending_unpriced_calls=("unpriced", "sum"))
    return out.reset_index()


def cost_table(actual: pd.DataFrame, pending: pd.DataFrame) -> pd.DataFrame:
    """Actual and pending side by side, one row per (stage, model, template), then a total row."""
    table = actual.merge(pending, on=list(KEYS), how="outer").sort_values(list(KEYS)).reset_index(drop=True)
    counts = [c for c in ACTUAL + PENDING if c not in FLOAT_COLUMNS]
    table[counts] = table[counts].fillna(0).astype("int64")
    for column in FLOAT_COLUMNS:
        table[column] = table[column].astype(float).fillna(0.0).round(6)
    total = {"stage": TOTAL, "llm_model_id": "", "template_id": "", **table[list(ACTUAL + PENDING)].sum().to_dict()}
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table[counts] = table[counts].astype("int64")
    return table[list(COST_COLUMNS)]
