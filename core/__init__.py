"""Symbiosis core: model, risk engine, config and feeds (no terminal code)."""
