"""Long fuzzing (``make fuzz``; not in CI): SIMTCP_FUZZ_CASES cases (default a million),
rotating through every class of tests/fuzzing.py in batches of 50 on a fresh network, the
invariants checked after each batch. Prints cases tried, crashes, hangs and invariant
failures per class; exits 1 if anything failed."""
from __future__ import annotations

import os
import random
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fuzzing import CASES, run_batch  # noqa: E402

BATCH = 50


def main() -> int:
    total = int(os.environ.get("SIMTCP_FUZZ_CASES", "1000000"))
    seed = int(os.environ.get("SIMTCP_FUZZ_SEED", "0"))
    tried, failed = Counter(), Counter()
    kinds = sorted(CASES)
    n = batch_no = 0
    while n < total:
        kind = kinds[batch_no % len(kinds)]
        rng = random.Random(f"{seed}-{batch_no}")
        count = min(BATCH, total - n)
        for problem in run_batch(kind, rng, count):
            failed[(kind, problem.split(":")[0])] += 1
            print(f"batch {batch_no} ({kind}, seed {seed}-{batch_no}): {problem}", flush=True)
        tried[kind] += count
        n += count
        batch_no += 1
        if batch_no % 100 == 0:
            print(f"{n} cases ...", flush=True)
    for kind in kinds:
        print(f"{kind:<11} {tried[kind]:>8} cases  crashes {failed[(kind, 'crash')]}  "
              f"hangs {failed[(kind, 'hang')]}  invariant failures "
              f"{failed[(kind, 'invariant')]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
