"""The cohort spec language: ``load_spec`` reads a spec, ``expand_design`` expands it to design rows.

The language (compatible with the earlier system's) is described in docs/spec-language.md.
"""

from daydreaming.cohort.spec.errors import SpecDslError, SpecDslErrorCode
from daydreaming.cohort.spec.expander import expand_design
from daydreaming.cohort.spec.loader import load_spec
from daydreaming.cohort.spec.models import Spec

__all__ = ["Spec", "SpecDslError", "SpecDslErrorCode", "expand_design", "load_spec"]
