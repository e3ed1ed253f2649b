"""Multi-row table headers to column paths such as `基本支出/人员经费/工资福利支出`."""

from __future__ import annotations


def _fix_misaligned(grid: list[list[str]]) -> None:
    """PDF conversion sometimes prints a parent label one column early, inside the span of
    the previous parent's last child (seen: 项目支出 over 资本性支出). A parent label that
    starts where its child row continues a two-column label, right before a child label,
    belongs one column to the right."""
    for r in range(len(grid) - 2, -1, -1):
        row, child = grid[r], grid[r + 1]
        for j in range(1, len(row) - 1):
            if row[j] and not child[j] and child[j - 1] and child[j + 1] and not row[j + 1]:
                row[j + 1], row[j] = row[j], ""


def column_paths(header_rows: list[list[str]], width: int) -> list[str]:
    """One path per column; a label spans right until a label starts in its own or a higher row."""
    grid = [[c.strip() for c in row] + [""] * (width - len(row)) for row in header_rows]
    grid = [row[:width] for row in grid]
    _fix_misaligned(grid)
    paths = []
    for j in range(width):
        parts: list[str] = []
        for r, row in enumerate(grid):
            owner = None
            for k in range(j, -1, -1):
                if row[k]:
                    owner = k
                    break
                if any(grid[up][k] for up in range(r)):
                    break  # a higher row starts a new span here: no label of this row reaches j
            if owner is not None and (owner == j or not any(grid[up][m] for up in range(r) for m in range(owner + 1, j + 1))):
                label = row[owner]
                if not parts or parts[-1] != label:
                    parts.append(label)
        paths.append("/".join(parts))
    return paths
