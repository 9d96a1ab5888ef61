"""daydreaming: LLM generation experiments (draft -> essay -> evaluation) on a gen-id-first store."""

__version__ = "0.1.0"
