"""Text that someone else wrote (a note, a path, an exchange's message), made safe to
show through Textual markup."""

from __future__ import annotations


def escape(text: str) -> str:
    """Every '[' escaped: Textual's own escape leaves '[ENTRY]' or '[B' alone, and the
    markup parser then reads them as tags (or fails on an unbalanced '[/]')."""
    return text.replace("[", "\\[")
