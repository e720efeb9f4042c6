"""Symbiosis terminal app (Textual) and command line."""
