"""Shared fixtures: a real SQLite database built from the bundled sources in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings

DATA = Path(__file__).parent / "data"
SEED = PROJECT_ROOT / "knowledge" / "sources" / "nanyang-2024-budget.txt"
FIXTURE = DATA / "fixtures" / "qingshan-2025-budget.txt"
MALFORMED = DATA / "fixtures" / "malformed"
REALDOCS = PROJECT_ROOT.parent / "shared" / "realdocs"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("budgetbot")
    # the question log of this process alone: server and CLI subprocesses given this database log beside it
    return Settings.from_env({"BUDGETBOT_DB": str(tmp / "budget.sqlite"), "BUDGETBOT_CACHE": str(tmp / "cache"),
                              "BUDGETBOT_LOG": str(tmp / "log" / "questions-of-the-tests.sqlite")})


@pytest.fixture(scope="session")
def assistant(settings):
    from bot.core import Assistant

    return Assistant.open(settings)
