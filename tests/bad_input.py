"""What the bad-input tests share: hostile text for hypothesis, and a fingerprint of the
whole database to prove that a refused request wrote nothing."""
from __future__ import annotations

import hashlib

from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from shooc.models import Base

# Text a browser, a script or an attacker may send: any Unicode (surrogates cannot be
# sent as UTF-8), NUL and other control characters, markup, very long strings.
HOSTILE_PIECES = st.sampled_from([
    "\x00", "\x00abc", "\r\n", "\t", "\u202e", "\ufeff", "\U0001f600", "é", "' OR 1=1 --", "%00", "%s%n",
    "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "{{ 7*7 }}", "../../etc/passwd", "-1", "0",
    "99999999999999999999", "1e999", "NaN", "2024-02-30", "0000-00-00", "", " ", "None", "null", "[]",
])
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
HOSTILE_TEXT = st.one_of(
    ANY_TEXT,
    HOSTILE_PIECES,
    st.lists(st.one_of(HOSTILE_PIECES, ANY_TEXT), min_size=2, max_size=4).map("".join),
    st.integers(1_000, 300_000).map(lambda n: "x" * n),  # longer than any field allows
)


def database_fingerprint(db: Session) -> dict[str, str]:
    """Every table's rows, hashed: equal fingerprints mean nothing was written."""
    db.expire_all()
    fingerprint = {}
    for table in Base.metadata.sorted_tables:
        rows = db.execute(select(table).order_by(*table.primary_key.columns)).all()
        fingerprint[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return fingerprint


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after.get(name)}
