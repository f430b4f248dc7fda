"""Made-up eligible youths for the bench, as a cohort file for `python -m starter enrol`."""

import csv
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


def birth_date(anchor: date, n: int, spread: int) -> date:
    """A birth date at which counter `n % 997 + 1` is used once: one person, one number.

    People sharing a counter are 7 days apart per 997 rows; `spread` (0-6) varies the rest.
    """
    return anchor - timedelta(days=19 * 365 + n // 997 * 7 + spread)


def write_cohort(path: Path, rows: int, first: int = 0, seed: int = 7) -> str:
    """`rows` eligible youths spread over every partner, numbered from `first` (people with
    other numbers have other national numbers); returns the references' prefix."""
    pick = random.Random(seed)
    programmes = load_programmes()
    partners = sorted(programmes)
    postcodes = sorted(BRUSSELS_POSTCODES)
    prefix = f"BENCH-{uuid.uuid4().hex[:8]}"
    today = date.today()
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(first, first + rows):
            partner = partners[n % len(partners)]
            born = birth_date(today, n, pick.randint(0, 6))
            writer.writerow(
                [
                    f"{prefix}-{n:06d}",
                    partner,
                    pick.choice(["Yasmina", "Mehdi", "Lotte", "Ayoub", "Inès", "Sven"]),
                    f"Bench{n}",
                    born.isoformat(),
                    national_number(born, n % 997 + 1),
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
