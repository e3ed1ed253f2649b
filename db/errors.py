"""The one error a load raises: it names the file, the line and what was expected."""

from __future__ import annotations

from pathlib import Path


class LoadError(Exception):
    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path.name} 第 {line} 行" if line else self.path.name
        super().__init__(f"{where}：{message}")
