"""The keys the demo acts with: `make dev` issues them at each start and hands them over; the
demo issues its own when it runs alone."""

from pydantic import BaseModel, ConfigDict, Field

from infra.database import Pool
from readmodel.api_keys import create_key, list_keys, revoke_key
from trajectory.actors import Role
from trajectory.programmes import PARTNER_IDS

DEMO_KEYS_ENV = "PARCOURS_DEMO_KEYS"
"""How `make dev` hands the demo its keys (JSON), so that they never reach a disk in clear."""
STANDALONE_KEY_LABEL = "demo"
"""The label of the keys the demo issues itself when it runs without `make dev`."""


class DemoKeys(BaseModel):
    """The keys the demo acts with: the backend's, a case manager's and each partner's."""

    model_config = ConfigDict(frozen=True)

    backend: str = Field(repr=False)
    case_manager: str = Field(repr=False)
    partners: dict[str, str] = Field(repr=False)


async def issue_demo_keys(pool: Pool, label: str) -> DemoKeys:
    """New keys labelled `label`, one per partner; the earlier ones of that label are revoked.

    Only a key's hash is stored, so each start issues new keys rather than showing old ones.
    """
    for key in await list_keys(pool):
        if key.label == label and key.revoked_at is None:
            await revoke_key(pool, key.key_id)
    backend = await create_key(pool, Role.BACKEND, label=label)
    case_manager = await create_key(pool, Role.CASE_MANAGER, label=label)
    partners = {p: (await create_key(pool, Role.PARTNER, p, label=label)).key for p in PARTNER_IDS}
    return DemoKeys(backend=backend.key, case_manager=case_manager.key, partners=partners)
