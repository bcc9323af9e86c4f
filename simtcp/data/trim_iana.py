"""Rebuild simtcp's trimmed port table from a full IANA registry download.

Usage (from the repository root, with a fresh copy of the registry):

    curl -O https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv
    python simtcp/data/trim_iana.py service-names-port-numbers.csv simtcp/data/service-names-port-numbers.csv

Keeps, in registry order: the reserved rows for ports 0, 1023 and 1024 (boundary examples),
every TCP row with a service name in 0-1023, and the TCP rows of the registered ports that
course material uses (KEEP below; a range row is kept when it covers one of them). Rows are
copied verbatim (all 12 columns); only the selection changes.
"""
from __future__ import annotations

import csv
import sys
from typing import IO

KEEP = {1433, 1434, 1521, 3306, 3389, 5060, 5061, 5432, 5672, 5900, 6000, 6379, 8080, 8443,
        8883, 9000, 9200, 11211, 27017}
BOUNDARY = {0, 1023, 1024}


def _ports(text: str) -> range | None:
    text = text.strip()
    if not text:
        return None
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def keep_row(row: dict[str, str]) -> bool:
    ports = _ports(row["Port Number"])
    if ports is None or row["Transport Protocol"].strip().lower() != "tcp":
        return False
    if len(ports) == 1 and ports[0] in BOUNDARY and not row["Service Name"].strip():
        return True
    if row["Service Name"].strip() and ports[-1] <= 1023:
        return True
    return any(p in ports for p in KEEP)


def trim(src: IO[str], dst: IO[str]) -> int:
    """Copy the rows selected by :func:`keep_row` from *src* to *dst*; return their count."""
    reader = csv.DictReader(src)
    writer = csv.DictWriter(dst, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in reader:
        if keep_row(row):
            writer.writerow(row)
            n += 1
    return n


if __name__ == "__main__":  # pragma: no cover - maintenance tool
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="", encoding="utf-8") as fin, \
            open(sys.argv[2], "w", newline="", encoding="utf-8") as fout:
        print(f"kept {trim(fin, fout)} rows")
