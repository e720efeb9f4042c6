"""Key bindings: every one has an id and a description; the help screen and the
user keymap (`[keys]` in config.toml: binding id -> keys) are derived from them.

An id reads `<section>.<name>`; the section names the help screen's heading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding

SECTIONS = {
    "pane": "Panes",
    "edit": "What-if edits (go to a draft until saved)",
    "shock": "Market shock (BTC moves by s, others by beta × s)",
    "risk": "Risk tools",
    "app": "App",
}

GLOBAL_BINDINGS: list[Binding] = [
    Binding(
        "1",
        "focus_pane('holdings')",
        "Holdings",
        show=False,
        id="pane.holdings",
        tooltip="focus the Holdings pane",
    ),
    Binding(
        "2",
        "focus_pane('hedge')",
        "Hedges",
        show=False,
        id="pane.hedge",
        tooltip="focus the Hedge overlay pane",
    ),
    Binding(
        "3",
        "focus_pane('alpha')",
        "Alpha",
        show=False,
        id="pane.alpha",
        tooltip="focus the Alpha engine pane",
    ),
    Binding(
        "4",
        "focus_pane('basis')",
        "Basis",
        show=False,
        id="pane.basis",
        tooltip="focus the Basis ticker pane",
    ),
    Binding("left_square_bracket", "shock(-1)", "Shock −1%", show=False, id="shock.down-1"),
    Binding("right_square_bracket", "shock(1)", "Shock +1%", show=False, id="shock.up-1"),
    Binding("left_curly_bracket", "shock(-5)", "Shock −5%", show=False, id="shock.down-5"),
    Binding("right_curly_bracket", "shock(5)", "Shock +5%", show=False, id="shock.up-5"),
    Binding("0", "shock_reset", "Shock 0", show=False, id="shock.reset"),
    Binding("u", "undo", "Undo", id="edit.undo", tooltip="undo the last what-if edit"),
    Binding("ctrl+r", "redo", "Redo", id="edit.redo", tooltip="redo the last undone edit"),
    Binding(
        "c",
        "edit_collateral",
        "Collateral",
        show=False,
        id="edit.collateral",
        tooltip="edit the cross-margin wallet (collateral_usd)",
    ),
    Binding(
        "ctrl+s", "save", "Save", id="app.save", tooltip="save portfolio.toml (atomic, keeps .bak)"
    ),
    Binding(
        "ctrl+o",
        "reload",
        "Reload",
        show=False,
        id="app.reload",
        tooltip="reload portfolio.toml from disk",
    ),
    Binding(
        "w",
        "show_notes",
        "Notes",
        show=False,
        id="app.notes",
        tooltip="notes on the figures (assumed betas, default rates)",
    ),
    Binding("t", "next_theme", "Theme", show=False, id="app.theme", tooltip="next colour theme"),
    Binding("question_mark", "help", "Help", id="app.help", tooltip="this help"),
    Binding("q,ctrl+q", "quit_app", "Quit", id="app.quit", tooltip="quit (asks when unsaved)"),
]

_KEY_NAMES = {
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "left_curly_bracket": "{",
    "right_curly_bracket": "}",
    "pagedown": "pgdn",
    "pageup": "pgup",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
}


def key_label(keys: str) -> str:
    """'question_mark' -> '?'; 'down,j' -> '↓ j'."""
    return " ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


@dataclass(frozen=True)
class HelpRow:
    binding_id: str
    keys: str
    text: str


def binding_ids(groups: Iterable[Sequence[Binding]]) -> set[str]:
    return {b.id for group in groups for b in group if b.id}


def effective_keys(binding: Binding, keymap: Mapping[str, str]) -> str:
    return keymap.get(binding.id or "", binding.key)


def help_rows(
    groups: Iterable[Sequence[Binding]], keymap: Mapping[str, str]
) -> dict[str, list[HelpRow]]:
    """Rows of the help screen by section, in binding order, with the user's keys."""
    sections: dict[str, list[HelpRow]] = {title: [] for title in SECTIONS.values()}
    seen: set[str] = set()
    for group in groups:
        for binding in group:
            if not binding.id or binding.id in seen:
                continue
            seen.add(binding.id)
            title = SECTIONS.get(binding.id.split(".", 1)[0], SECTIONS["app"])
            text = binding.tooltip or binding.description
            sections[title].append(
                HelpRow(binding.id, key_label(effective_keys(binding, keymap)), text)
            )
    return sections


def keymap_problems(keymap: Mapping[str, str], chains: Iterable[Sequence[Binding]]) -> list[str]:
    """What is wrong with a user keymap: ids that name no binding, and keys that
    two bindings would share where both are active at once (one chain)."""
    chains = [list(chain) for chain in chains]
    known = binding_ids(chains)
    problems = [
        f"[keys] {binding_id}: no such binding (see ? for the ids)"
        for binding_id in sorted(set(keymap) - known)
    ]
    clashes: set[tuple[str, str, str]] = set()
    for chain in chains:
        owner: dict[str, str] = {}
        for binding in chain:
            if not binding.id:
                continue
            for key in effective_keys(binding, keymap).split(","):
                key = key.strip()
                other = owner.setdefault(key, binding.id)
                if other != binding.id and (binding.id in keymap or other in keymap):
                    first, second = sorted((other, binding.id))
                    clashes.add((key_label(key), first, second))
    problems += [f"[keys] {key} is bound to both {a} and {b}" for key, a, b in sorted(clashes)]
    return problems
