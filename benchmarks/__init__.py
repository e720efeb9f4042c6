"""Speed benchmarks: `python -m benchmarks` prints the figures the project quotes."""

# The app's settings that Textual reads at import (frame pacing) must be in place
# before the benchmarks import Textual, as they are when `symbiosis` starts.
import tui  # noqa: F401
