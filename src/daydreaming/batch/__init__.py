"""Batch mode: pending LLM calls through a provider's Batch API (``/v1/files`` + ``/v1/batches``).

``records`` (the batch list under the data root), ``submit`` (into a batch, never twice),
``collect`` (to a batch's end), ``land`` and ``results`` (its answers into the store),
``gate`` (what a run leaves to batches), ``step`` (the batch work of a run), ``progress`` and
``cli`` (``daydreaming batch``).
"""
