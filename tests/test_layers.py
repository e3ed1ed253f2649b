"""The layering the project keeps: db/ turns documents into rows and never imports bot/."""

from __future__ import annotations

import ast

from bot.config import PROJECT_ROOT


def test_db_never_imports_bot():
    for path in sorted((PROJECT_ROOT / "db").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "bot" or n.startswith("bot.") for n in names), f"{path.name} imports {names}"


def test_executors_never_read_the_question_text():
    """Executors answer from the Query: the modules that hold them import no regular expressions over questions."""
    for name in ("compose", "computations", "listings", "textual", "across", "executors"):
        tree = ast.parse((PROJECT_ROOT / "bot" / f"{name}.py").read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "re" not in imported, name
        assert ".p.text" not in ast.unparse(tree), name
