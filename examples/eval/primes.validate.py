"""Validator of primes.md: coder eval runs it with the solution's path appended."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _check import expect_output  # noqa: E402

expect_output(sys.argv[1], ' '.join(str(n) for n in range(2, 100) if all(n % d for d in range(2, int(n ** 0.5) + 1))))
