"""Speed benchmarks: `python -m benchmarks` prints the figures the project quotes."""
