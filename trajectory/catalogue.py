"""The training catalogue and the recommendation an assessment leads to (DESIGN §1)."""

from datetime import date
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trajectory.milestones import CefrLevel, LanguageCode

UNKNOWN_COURSE = "UnknownCourse"
"""Error type of a request for a course the catalogue in PostgreSQL does not hold.

Workflows never read the catalogue themselves, so updating it cannot change what a recorded
history replays to; the seat request decides.
"""
COURSE_FULL = "CourseFull"
"""Error type of a selection on a course whose seats are all taken."""

CEFR_ORDER: tuple[CefrLevel, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")


class Course(BaseModel):
    """A course session with a finite number of seats."""

    model_config = ConfigDict(frozen=True)

    course_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    provider: str
    title: str
    domain: str
    sector: str
    occupation: str
    bottleneck_occupation: bool
    language: LanguageCode
    min_language_level: CefrLevel
    min_digital_level: int = Field(ge=1, le=8)
    seats: int = Field(ge=1, le=500)
    starts_on: date
    ends_on: date
    location: str = Field(pattern=r"^\d{4}$")
    selection: bool = Field(
        default=False,
        description="the provider selects its trainees among the applicants, rather than first "
        "come, first served with a waiting list",
    )
    partners: tuple[str, ...] = Field(default=(), description="who runs it with the provider")
    assumptions: tuple[str, ...] = Field(
        default=(), description="fields not given by the programme description: to confirm"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> "Course":
        if self.ends_on < self.starts_on:
            raise ValueError(f"{self.course_id} ends before it starts")
        return self


class Catalogue(BaseModel):
    """A versioned catalogue file."""

    version: int = Field(ge=1)
    note: str = ""
    courses: tuple[Course, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> "Catalogue":
        ids = [c.course_id for c in self.courses]
        if len(ids) != len(set(ids)):
            raise ValueError("course ids must be unique")
        return self


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue."""
    text = files("trajectory").joinpath("catalogue.json").read_text(encoding="utf-8")
    return Catalogue.model_validate_json(text)


class Assessment(BaseModel):
    """What the assessment found: CEFR level per language and the DigComp level."""

    languages: dict[LanguageCode, CefrLevel] = Field(default_factory=dict)
    digital_level: int | None = Field(default=None, ge=1, le=8)


class Recommendation(BaseModel):
    """A course proposed to a participant, with the reasons a coach can check."""

    course_id: str
    title: str
    rank: int
    seats_left: int
    reasons: list[str]


def recommend(
    assessment: Assessment, seats_left: dict[str, int], limit: int = 5
) -> list[Recommendation]:
    """Courses the participant is ready for, best first: open seats, bottleneck jobs, closest fit.

    A course is left out when the participant's level in its language or digital level is below
    what it requires; ties go to the course with more seats left.
    """
    ranked: list[tuple[tuple[int, int, int, str], Course, list[str]]] = []
    for course in load_catalogue().courses:
        level = assessment.languages.get(course.language)
        if level is None or CEFR_ORDER.index(level) < CEFR_ORDER.index(course.min_language_level):
            continue
        digital = assessment.digital_level or 0
        if digital < course.min_digital_level:
            continue
        left = seats_left.get(course.course_id, course.seats)
        reasons = [
            f"{course.language} level {level} meets the required {course.min_language_level}",
            f"digital level {digital} meets the required {course.min_digital_level}",
            f"taught in {course.language}",
            f"sector: {course.sector}"
            + (" (bottleneck occupation)" if course.bottleneck_occupation else ""),
            f"{left} seats left" if left > 0 else "no seat left: waiting list",
        ]
        stretch = CEFR_ORDER.index(level) - CEFR_ORDER.index(course.min_language_level)
        key = (
            0 if left > 0 else 1,
            0 if course.bottleneck_occupation else 1,
            stretch,
            course.course_id,
        )
        ranked.append((key, course, reasons))
    ranked.sort(key=lambda item: item[0])
    return [
        Recommendation(
            course_id=course.course_id,
            title=course.title,
            rank=rank,
            seats_left=seats_left.get(course.course_id, course.seats),
            reasons=reasons,
        )
        for rank, (_, course, reasons) in enumerate(ranked[:limit], start=1)
    ]
