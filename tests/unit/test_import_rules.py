"""The import rules of the layout (the contracts in `.importlinter`): the real tree keeps every
one, and each rule fails when a copy of the tree breaks it with a single added import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
PACKAGES = ("domain", "projections", "adapters")
# The tool's command, run by this interpreter wherever its scripts were installed.
LINT_IMPORTS = (
    sys.executable,
    "-c",
    "import sys; from importlinter import cli; sys.exit(cli.lint_imports_command())",
)


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run the contracts on the packages under `tree` (the tree, not the installed project,
    comes first on the path because the tool puts its working directory there)."""
    selected = [argument for contract in contracts for argument in ("--contract", contract)]
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--no-logo", *selected, str(CONFIG)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return copy


def test_the_tree_keeps_every_import_rule() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# One import per rule, each added to a module that must not make it, and what the report names.
VIOLATIONS = [
    ("layers", "domain/milestone.py", "import adapters.bootstrap", "adapters.bootstrap"),
    ("layers", "projections/runner.py", "import adapters.settings", "adapters.settings"),
    ("core", "projections/ports.py", "import falcon", "falcon"),
    ("core", "domain/application.py", "import sqlite3", "sqlite3"),
    (
        "contract",
        "adapters/contract/paths.py",
        "import adapters.http.problems",
        "adapters.http.problems",
    ),
    ("http", "adapters/http/app.py", "import adapters.server.wsgi", "adapters.server.wsgi"),
    (
        "backends",
        "adapters/sqlite/reads.py",
        "import adapters.contract.models",
        "adapters.contract.models",
    ),
    (
        "backends",
        "adapters/postgres/reads.py",
        "import adapters.http.problems",
        "adapters.http.problems",
    ),
    ("bootstrap", "adapters/bootstrap.py", "import falcon", "falcon"),
    ("acyclic", "adapters/storage/sql.py", "import adapters.sqlite.schema", ".storage -> .sqlite"),
]


@pytest.mark.parametrize(("contract", "module", "statement", "reported"), VIOLATIONS)
def test_an_import_that_breaks_a_rule_fails_it(
    tree_copy: Path, contract: str, module: str, statement: str, reported: str
) -> None:
    path = tree_copy / module
    original = path.read_text()
    path.write_text(f"{original}\n{statement}\n")
    try:
        result = lint_imports(tree_copy, contract)
    finally:
        path.write_text(original)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout
    assert reported in result.stdout


def test_an_import_made_only_for_type_checking_is_not_counted(tree_copy: Path) -> None:
    path = tree_copy / "domain" / "milestone.py"
    original = path.read_text()
    type_only = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import adapters.bootstrap\n"
    )
    path.write_text(f"{original}\n{type_only}")
    try:
        result = lint_imports(tree_copy, "layers")
    finally:
        path.write_text(original)

    assert result.returncode == 0, result.stdout + result.stderr
