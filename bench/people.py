"""Made-up eligible youths for the bench, as a cohort file for `python -m starter enrol`."""

import csv
import itertools
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

from starter.cohort import COLUMNS
from trajectory.eligibility import BRUSSELS_POSTCODES
from trajectory.programmes import load_programmes


def national_number(born: date, counter: int) -> str:
    """A number that passes the mod-97 check (a leading 2 for births from 2000)."""
    nine = f"{born:%y%m%d}{counter:03d}"
    check = 97 - int(("2" if born.year >= 2000 else "") + nine) % 97
    return f"{nine}{check:02d}"


_people = itertools.count()
"""Every youth of a bench run is a different person (one open trajectory per person)."""


def write_cohort(path: Path, rows: int, seed: int = 7) -> str:
    """`rows` eligible youths spread over every partner, none met before in this run; returns
    the references' prefix."""
    pick = random.Random(seed)
    programmes = load_programmes()
    partners = sorted(programmes)
    postcodes = sorted(BRUSSELS_POSTCODES)
    prefix = f"BENCH-{uuid.uuid4().hex[:8]}"
    today = date.today()
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(rows):
            partner = partners[n % len(partners)]
            person = next(_people)  # a birth date and a counter used once: one person
            born = today - timedelta(days=19 * 365 + person // 997)
            writer.writerow(
                [
                    f"{prefix}-{n:06d}",
                    partner,
                    pick.choice(["Yasmina", "Mehdi", "Lotte", "Ayoub", "Inès", "Sven"]),
                    f"Bench{n}",
                    born.isoformat(),
                    national_number(born, person % 997 + 1),
                    pick.choice(postcodes),
                    f"+3247{n:07d}",
                    f"youth{n}@example.org",
                    pick.choice(programmes[partner].languages),
                    "false",
                    "false",
                    "false",
                    "false",
                ]
            )
    return prefix
