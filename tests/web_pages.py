"""A person at the web app without a browser: a cookie jar, the login form, forms with their
CSRF token (the browser tests drive Chromium instead)."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the first form of `page`."""
    found = CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


class WebUser:
    """One person's browser session at the web app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def log_in(self, key: str, name: str | None = None) -> httpx.Response:
        form = await self.client.get("/app/login")
        assert form.status_code == 200, form.text
        fields = {"csrf_token": csrf_token(form.text), "key": key, "name": name or ""}
        return await self.client.post("/app/login", data=fields)

    async def get(self, path: str, **options: Any) -> httpx.Response:
        return await self.client.get(path, **options)

    async def post_from(
        self, page_path: str, action: str, fields: dict[str, str], *, token: bool = True
    ) -> httpx.Response:
        """Send a form of the page at `page_path` to `action`, with the page's CSRF token
        unless `token` is False."""
        page = await self.client.get(page_path)
        assert page.status_code == 200, page.text
        data = {"csrf_token": csrf_token(page.text), **fields} if token else fields
        return await self.client.post(action, data=data)


@asynccontextmanager
async def web_user(
    app: FastAPI, key: str | None = None, name: str | None = None, scheme: str = "http"
) -> AsyncIterator[WebUser]:
    """A browser of its own at `app` that prefers English, logged in with `key` when given."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    base = f"{scheme}://parcours.test"
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=english) as client:
        user = WebUser(client)
        if key is not None:
            answer = await user.log_in(key, name)
            assert answer.status_code == 303, answer.text
        yield user
