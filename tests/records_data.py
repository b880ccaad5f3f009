"""Records CSV files (docs/formats.md) shaped like a real run, for tests and benchmarks."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random

COLUMNS = ["email", "name", "organisation", "registered_on", "started_on", "workbook_1", "workbook_2",
           "workbook_3", "workbook_4", "workbook_5", "overall_effect"]
EFFECTS = ["excellent"] * 23 + ["very_good"] * 73 + ["good"] * 4


def records_rows(n: int, opens: dt.date, closes: dt.date, seed: int = 1, domain: str = "example.org") -> list[dict]:
    """``n`` learners with the funnel of the reference run: most register, about four
    in five start, fewer finish each workbook, about one in eight finishes all five;
    the finishers answer the evaluation."""
    rng = random.Random(seed)
    span = (closes - opens).days
    rows = []
    for i in range(n):
        registered = opens + dt.timedelta(days=rng.randrange(max(1, span - 30)))
        row = {c: "" for c in COLUMNS}
        row.update(email=f"learner{i:06d}@{domain}", name=f"Learner {i:06d}", organisation=f"School {i % 997}",
                   registered_on=registered.isoformat())
        if rng.random() < 0.78:
            day = registered + dt.timedelta(days=rng.randrange(3))
            row["started_on"] = day.isoformat()
            # chance of finishing the next workbook, given the previous one
            for n_wb, chance in enumerate((0.40, 0.75, 0.70, 0.65, 0.80), start=1):
                if rng.random() >= chance:
                    break
                day = min(day + dt.timedelta(days=rng.randrange(1, 12)), closes)
                row[f"workbook_{n_wb}"] = day.isoformat()
            else:
                row["overall_effect"] = rng.choice(EFFECTS)
        rows.append(row)
    return rows


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def expected_counts(rows: list[dict]) -> dict[str, int]:
    completions = [sum(bool(r[f"workbook_{k}"]) for k in range(1, 6)) for r in rows]
    return {"registered": len(rows), "started": sum(bool(r["started_on"]) for r in rows),
            "workbooks_completed": sum(completions), "badges_awarded": sum(completions),
            "completed_all": sum(c == 5 for c in completions), "certificates_awarded": sum(c == 5 for c in completions)}
