"""Snakemake entry point of rule ``cohort_report`` (rules/report.smk): every table, figure and
page of one cohort's report, from the files ``cohort_scores`` wrote.
The logic lives in ``daydreaming.report.build``; this file only connects Snakemake to it."""

import sys
import time

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (the object Snakemake's script directive injects)

from daydreaming.report.build import compute_reports  # noqa: E402

started = time.perf_counter()
notes = compute_reports(snakemake.config, snakemake.wildcards.cohort, dict(snakemake.input.items()),  # noqa: F821
                        dict(snakemake.output.items()))  # noqa: F821
print(f"cohort_report {snakemake.wildcards.cohort}: {'; '.join(notes)}; "  # noqa: F821
      f"{time.perf_counter() - started:.2f} s", file=sys.stderr)
