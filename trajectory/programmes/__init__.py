"""The partners' programme definitions, packaged as one JSON file per partner (DESIGN §2, §8).

Adding a partner means adding `<partner_id>.json` here; no code changes.
"""

from functools import cache
from importlib.resources import files

from trajectory.programme import PartnerProgramme

PARTNER_IDS: tuple[str, ...] = (
    "art2work",
    "backstage",
    "groep-intro",
    "inbrussel",
    "infor-jeunes",
    "jes",
    "orientaeuro",
)
"""The partners of the first programme, as named in the contract."""

_SUFFIX = ".json"


class UnknownPartner(LookupError):
    """No programme definition is packaged for this partner id."""

    def __init__(self, partner_id: str) -> None:
        known = ", ".join(sorted(_packaged_ids()))
        super().__init__(f"no programme for partner {partner_id!r}; known partners: {known}")
        self.partner_id = partner_id


@cache
def _packaged_ids() -> frozenset[str]:
    """Partner ids that have a definition file; the only names `load_programme` will open."""
    return frozenset(
        entry.name.removesuffix(_SUFFIX)
        for entry in files(__name__).iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


@cache
def load_programme(partner_id: str) -> PartnerProgramme:
    """The validated definition of `partner_id`; raises `UnknownPartner` if none is packaged."""
    if partner_id not in _packaged_ids():
        raise UnknownPartner(partner_id)
    text = files(__name__).joinpath(partner_id + _SUFFIX).read_text(encoding="utf-8")
    programme = PartnerProgramme.model_validate_json(text)
    if programme.partner_id != partner_id:
        raise ValueError(
            f"{partner_id}{_SUFFIX} defines partner {programme.partner_id!r}; "
            "the file name must match the partner id"
        )
    return programme


def load_programmes() -> dict[str, PartnerProgramme]:
    """Every packaged definition by partner id, in partner-id order."""
    return {partner_id: load_programme(partner_id) for partner_id in sorted(_packaged_ids())}


_SHARED: dict[tuple[str, int], PartnerProgramme] = {}


def shared(programme: PartnerProgramme) -> PartnerProgramme:
    """One instance of each programme definition for every trajectory a process holds.

    A worker caches thousands of trajectories, each started with its programme in its input;
    an equal definition seen before is handed out instead, so they share one copy (frozen, so
    sharing is safe). A definition that differs under the same id and version replaces it.
    """
    key = (programme.partner_id, programme.version)
    known = _SHARED.get(key)
    if known == programme:
        return known
    _SHARED[key] = programme
    return programme
