"""Shared bits of the benchmark scripts: plain-text tables and the timing metadata of executed notebooks."""

from __future__ import annotations

from datetime import datetime


def table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table with right-aligned columns."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_checks(checks) -> int:
    """Print ``(measure, value, bar text, ok)`` rows as a table; 0 when every bar is met, else 1."""
    print()
    print(table(["measure", "value", "bar", "ok"],
                [[name, f"{value:.3f}", bar, "yes" if ok else "NO"] for name, value, bar, ok in checks]))
    return 0 if all(ok for *_, ok in checks) else 1


def cell_seconds(cell: dict) -> float | None:
    """Execution time of an executed cell, from nbclient's timing metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def cell_label(cell: dict) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    first = "".join(cell.get("source", "")).strip().splitlines()
    return (first[0][:40] if first else "(empty)")
