"""Cohorts: the spec language (``cohort.spec``) and what is compiled from a spec."""
