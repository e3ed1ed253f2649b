"""Where the project's data lives: the knowledge folder beside the packages (an editable install)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
SOURCES_DIR = KNOWLEDGE_DIR / "sources"
