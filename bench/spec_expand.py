"""Benchmark: time to expand a 20,000-row cohort design that uses every rule kind.

    python bench/spec_expand.py [--repeat 5]

Prints figures; asserts nothing (the target is tens of milliseconds, well under 1 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from test_spec_expander import big_design  # noqa: E402

from daydreaming.cohort.spec import expand_design, load_spec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec(big_design())
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        rows = expand_design(spec, shuffle_seed=1)
        times.append(time.perf_counter() - start)
    print(
        f"{len(rows)} rows: best {min(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
