"""Risk tools over the engine's Report: stress grid, hedge suggestion, carry board,
alerts, history and export (no Textual here)."""


class RiskInputError(ValueError):
    """Bad input to a risk tool (a range, an asset, a target, a file name): one line."""
