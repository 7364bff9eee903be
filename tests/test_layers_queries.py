"""Views, CLI commands and handlers ask the query and service modules (core/…, content/…) and never
build or run SQL themselves, so every question about the database is asked one way, with its role
scope, in one place. A source scan (AST, not text) of the top-layer files; nothing is allow-listed."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LAYER = sorted([*ROOT.glob("admin/views/*.py"), *ROOT.glob("bot/cli*.py"), *ROOT.glob("handlers/*.py")])
SQL_MODULES = ("sqlalchemy", "sqlmodel")
STATEMENTS = {"select", "delete", "update", "insert", "text", "func", "or_", "and_"}
RUNS_SQL = {"exec", "execute", "query", "scalar", "scalars"}


def direct_queries(source: str) -> list[str]:
    """Each place in `source` that builds a SQL statement or runs one on a session."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SQL_MODULES:
            found += [f"line {node.lineno}: imports {a.name} from {node.module}" for a in node.names
                      if a.name in STATEMENTS]
        elif isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Attribute) and fn.attr in RUNS_SQL:
                found.append(f"line {node.lineno}: .{fn.attr}(…)")
            elif isinstance(fn, ast.Name) and fn.id in ("select", "delete", "update", "insert"):
                found.append(f"line {node.lineno}: {fn.id}(…)")
    return found


def test_the_scan_sees_the_patterns_it_forbids() -> None:
    sample = ("from sqlmodel import Session, col, select\n"
              "def page(s):\n"
              "    rows = s.exec(select(Village).where(col(Village.id) == 1)).all()\n"
              "    s.execute(delete(ImportUpload))\n"
              "    return s.query(Village).first()\n")
    found = direct_queries(sample)
    assert len(found) == 6, found  # the import, exec, select, execute, delete, query
    assert direct_queries("from sqlmodel import Session\ndef f(s):\n    return s.get(Village, 1)\n") == []


def test_the_scan_covers_the_top_layer() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in TOP_LAYER}
    assert {"admin/views/dashboard.py", "bot/cli_requests.py", "handlers/apply.py"} <= names


@pytest.mark.parametrize("path", TOP_LAYER, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_direct_queries_in_views_cli_or_handlers(path: Path) -> None:
    found = direct_queries(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.relative_to(ROOT)} queries the database itself; move the query to a named "
                       f"function in core/<area>/ or content/ and call it: {found}")
