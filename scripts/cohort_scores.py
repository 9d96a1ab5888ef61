"""Snakemake entry point of rule ``cohort_scores`` (rules/report.smk): read one cohort's
generations from the store into generations.csv, aggregated_scores.csv and scan.json.
The logic lives in ``daydreaming.report.scan``; this file only connects Snakemake to it."""

import sys
import time

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (the object Snakemake's script directive injects)

from daydreaming.report.scan import scan_cohort  # noqa: E402

started = time.perf_counter()
record = scan_cohort(snakemake.config, snakemake.wildcards.cohort, dict(snakemake.output.items()))  # noqa: F821
print(f"cohort_scores {record.cohort_id}: {record.complete} complete, {record.failed} failed, "
      f"{record.missing} missing; {time.perf_counter() - started:.2f} s", file=sys.stderr)
