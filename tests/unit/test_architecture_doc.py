"""The tree in docs/architecture.md matches the code: every module it names exists where it
says, and every module of the product is named in it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
PRODUCT = ("domain", "projections", "adapters")
# Entries start near the left margin; a description's continuation lines are indented past it.
_ENTRY_INDENT = 20


def tree_lines() -> list[str]:
    text = PAGE.read_text()
    block = text.split("## The layout", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def named_modules() -> set[str]:
    """Each ``name.py`` the tree mentions, under the directory whose entry mentions it."""
    named: set[str] = set()
    directories: list[tuple[int, str]] = []
    for line in tree_lines():
        text = line.lstrip()
        indent = len(line) - len(text)
        if indent < _ENTRY_INDENT:
            while directories and directories[-1][0] >= indent:
                directories.pop()
            entry = text.split(" ", 1)[0]
            if entry.endswith("/"):
                directories.append((indent, (directories[-1][1] if directories else "") + entry))
        where = directories[-1][1] if directories else ""
        named |= {where + name for name in re.findall(r"\b\w+\.py\b", text)}
    return named


def test_every_module_the_tree_names_exists() -> None:
    missing = sorted(path for path in named_modules() if not (ROOT / path).is_file())

    assert missing == []


def test_every_product_module_is_in_the_tree() -> None:
    modules = {
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }

    assert sorted(modules - named_modules()) == []


def test_the_tree_reader_places_modules_in_their_directories() -> None:
    named = named_modules()

    assert {"adapters/postgres/pool.py", "adapters/server/gunicorn_conf.py"} <= named
    assert "adapters/pool.py" not in named
    assert "domain/milestone.py" in named
