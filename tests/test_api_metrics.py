"""`GET /metrics` on the API: what an operator's Prometheus scrapes, with no key."""

import asyncio
from typing import Any, cast

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app, hold
from api.metrics import KNOWN_METHODS, MILESTONE_ROUTE, OTHER_METHOD, ProgrammeFigures
from infra.database import Pool, open_pool
from infra.settings import Settings
from tests.api_fixtures import EnrolByApi, Keys, bearer, listed, written
from tests.test_api_contract import milestone
from tests.test_failed_authentication import without_temporal

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: httpx.AsyncClient) -> Series:
    answer = await api.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


async def test_a_partners_accepted_and_refused_milestones_show_on_metrics_with_the_programme(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    before = await scrape(api)
    participant_id = await enrol_by_api("jes")
    await listed(pool, participant_id)
    url = f"/v1/participants/{participant_id}/milestones"
    accepted = await api.post(
        url, json=milestone("intake_interview_held"), headers=bearer(keys.jes)
    )
    refused = await api.post(
        url, json=milestone("training_enrolled", {"course_id": "hvac"}), headers=bearer(keys.jes)
    )
    assert (accepted.status_code, refused.status_code) == (200, 409)
    await written(pool, participant_id, milestones=1)  # the read model follows the answers

    in_assessment = (
        "SELECT count(*) FROM trajectories WHERE phase = 'assessment' AND status = 'active'"
    )
    for _ in range(10):  # other tests' trajectories may still be settling in the read model
        counted = await pool.fetchval(in_assessment)
        after = await scrape(api)
        if counted == await pool.fetchval(in_assessment):
            break

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("parcours_milestones_total", result="accepted") == 1
    assert grew("parcours_milestones_total", result="refused") == 1
    for status in ("200", "409"):
        assert (
            grew("parcours_api_requests_total", method="POST", route=MILESTONE_ROUTE, status=status)
            == 1
        )
    assert (
        grew("parcours_api_requests_total", method="POST", route="/v1/participants", status="201")
        == 1
    )
    assert (
        grew("parcours_api_request_duration_seconds_count", method="POST", route=MILESTONE_ROUTE)
        == 2
    )
    assert (
        value(
            after,
            "parcours_api_request_duration_seconds_bucket",
            method="POST",
            route=MILESTONE_ROUTE,
            le="+Inf",
        )
        >= 2
    )
    # The participant moved on to assessment; the figure comes from the read model.
    assert (
        value(after, "parcours_open_trajectories", phase="assessment", status="active")
        == counted
        >= 1
    )
    assert value(after, "parcours_read_model_up") == 1
    assert (
        "parcours_nudges_sent_total",
        frozenset(),
    ) not in after  # labelled by partner and action


async def test_a_path_no_route_matches_is_counted_once_under_unmatched(
    api: httpx.AsyncClient,
) -> None:
    before = await scrape(api)
    for n in range(3):
        assert (await api.get(f"/no-such-path/{n}")).status_code == 404
    after = await scrape(api)

    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "parcours_api_requests_total", **labels)
        - value(before, "parcours_api_requests_total", **labels)
        == 3
    )
    assert not [key for key in after if "no-such-path" in str(key)]


async def test_a_scrape_while_the_read_model_is_down_keeps_the_last_figures_and_says_so(
    pool: Pool, database_url: str
) -> None:
    figures = ProgrammeFigures()
    await figures.refresh(pool)
    seen = {family.name: family.samples for family in figures.collect()}
    assert seen["parcours_read_model_up"][0].value == 1
    closed = await open_pool(Settings(database_url=database_url))
    await closed.close()

    await figures.refresh(closed)

    after = {family.name: family.samples for family in figures.collect()}
    assert after["parcours_read_model_up"][0].value == 0
    assert after["parcours_open_trajectories"] == seen["parcours_open_trajectories"]


async def test_requests_with_made_up_methods_add_no_series(api: httpx.AsyncClient) -> None:
    """uvicorn takes any token as a method (`curl -X M1`): each must not become a label value."""
    before = await scrape(api)
    for n in range(5):
        assert (await api.request(f"M{n}", "/v1/participants")).status_code == 405
        assert (await api.request(f"M{n}", f"/no-such-path/{n}")).status_code == 404
    after = await scrape(api)

    methods = {
        dict(labels)["method"]
        for name, labels in after
        if name.startswith("parcours_api_request") and "method" in dict(labels)
    }
    assert methods <= {*KNOWN_METHODS, OTHER_METHOD}
    labels = {"method": OTHER_METHOD, "route": "/v1/participants", "status": "405"}
    assert (
        value(after, "parcours_api_requests_total", **labels)
        - value(before, "parcours_api_requests_total", **labels)
        == 5
    )


class CountedPool:
    """The session's pool, counting the connections taken from it."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.taken = 0

    def acquire(self, **options: Any) -> Any:
        self.taken += 1
        return self._pool.acquire(**options)


async def test_a_burst_of_scrapes_reads_the_read_model_once(pool: Pool, database_url: str) -> None:
    counted = CountedPool(pool)
    settings = Settings(database_url=database_url, metrics_cache_seconds=60)
    app = create_app(settings)
    hold(app, without_temporal(), cast(Pool, counted), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api:
        answers = await asyncio.gather(*(api.get("/metrics") for _ in range(20)))
        answers += [await api.get("/metrics") for _ in range(20)]

    assert [answer.status_code for answer in answers] == [200] * 40
    assert counted.taken == 1


async def test_the_read_models_figures_are_read_again_once_they_are_older_than_the_cache(
    pool: Pool,
) -> None:
    counted = CountedPool(pool)
    clock = [100.0]
    figures = ProgrammeFigures(max_age=10, clock=lambda: clock[0])

    await figures.refresh(cast(Pool, counted))
    clock[0] += 9
    await figures.refresh(cast(Pool, counted))
    assert counted.taken == 1
    clock[0] += 2
    await figures.refresh(cast(Pool, counted))
    assert counted.taken == 2
