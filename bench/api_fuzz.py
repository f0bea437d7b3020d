"""Schemathesis against /api/schema/ with valid signatures; counts requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_b \
        REDIS_URL=redis://127.0.0.1:6379/5 CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/api_fuzz.py --examples 140

Runs tests/banks/test_fuzz.py (8 operations x positive/negative generation)
with --examples per operation and mode, then prints how many signed requests
were sent and that none answered 5xx (the test fails on the first 5xx).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=140)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "fuzz.jsonl")
        env = dict(os.environ, FUZZ_EXAMPLES=str(args.examples), FUZZ_REPORT=report)
        run = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "pytest"),
                "-p",
                "no:xdist",
                "-q",
                "tests/banks/test_fuzz.py",
            ],
            cwd=ROOT,
            env=env,
        )
        rows = (
            [json.loads(line) for line in open(report)]
            if os.path.exists(report)
            else []
        )
    for row in rows:
        print(f"{row['op']:<55} {row['mode']:<9} {row['sent']:>5}")
    total = sum(r["sent"] for r in rows)
    print(
        f"signed generated requests: {total}; "
        f"5xx: {'none' if run.returncode == 0 else 'FOUND'}"
    )
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
