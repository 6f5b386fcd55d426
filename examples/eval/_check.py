"""Shared by the validators here: run the solution, compare its output."""

import subprocess
import sys


def expect_output(solution: str, expected: str, timeout: float = 30) -> None:
    """Runs SOLUTION with this interpreter and exits 0 when it prints EXPECTED."""
    try:
        run = subprocess.run(
            [sys.executable, solution],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        print(f"FAIL: no answer within {timeout}s")
        sys.exit(1)
    got = run.stdout.strip()
    if run.returncode != 0:
        print(f"FAIL: exit status {run.returncode}\n{run.stderr[-1000:]}")
        sys.exit(1)
    if got != expected:
        print(f"FAIL: expected {expected!r}, got {got[:200]!r}")
        sys.exit(1)
    print("OK")
