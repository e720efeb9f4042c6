"""Symbiosis terminal app (Textual) and command line."""

import os

# Textual paces frames with a timer: a change made just after a frame waits for a
# later tick, one to two periods at the default 60 per second (up to ~33 ms). The
# app renders only on a change (a key, a coalesced feed tick), so a shorter period
# costs nothing while idle and takes that wait off every keystroke. Read when
# Textual is first imported, so it is set here, before any tui module imports it;
# a TEXTUAL_FPS already in the environment wins.
os.environ.setdefault("TEXTUAL_FPS", "240")
