"""What the app imports at run time is what `pip install .` installs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Import name -> distribution name, where they differ.
DISTRIBUTION_OF = {"tomli_w": "tomli-w", "textual_serve": "textual-serve"}
FIRST_PARTY = {"core", "tui", "benchmarks"}
# Files that import an optional extra (and name its install command when it is missing).
EXTRA_OF = {"tui/serve.py": "web"}


def runtime_imports(package: str) -> dict[str, str]:
    """Top-level modules imported anywhere in a package -> one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def declared_dependencies(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0] for spec in specs}


def test_every_third_party_module_the_app_imports_is_a_declared_dependency() -> None:
    declared = declared_dependencies()
    missing = {
        module: where
        for package in ("core", "tui")
        for module, where in runtime_imports(package).items()
        if module not in sys.stdlib_module_names
        and module not in FIRST_PARTY
        and module != "__future__"
        and DISTRIBUTION_OF.get(module, module) not in declared
        and not (
            where in EXTRA_OF
            and DISTRIBUTION_OF.get(module, module) in declared_dependencies(EXTRA_OF[where])
        )
    }
    assert missing == {}, f"imported but not in [project] dependencies: {missing}"


def test_the_check_sees_the_engine_numpy_and_polars_imports() -> None:
    imports = runtime_imports("core")
    assert {"numpy", "polars", "tomli_w", "ccxt"} <= set(imports)
