"""The gateway's browser pages in a real headless Chromium, driven through Playwright as a
person would: GraphiQL runs a query and its Explorer lists the schema; Swagger UI takes a token
through Authorize and calls an admin route. The browser may reach the gateway and nothing else,
so a page that needed a CDN would fail here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import browser as test_browser
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    Route,
    expect,
    sync_playwright,
)

from .conftest import Platform

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    found = test_browser.find()
    assert found is not None, "no Chromium: `make test` installs one (tools/browser.py ensure)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=found.executable, args=found.launch_args
        )
        yield launched
        launched.close()


class OfflinePage:
    """A page in a fresh browser context whose requests outside the gateway are refused, and
    recorded so the test can name them."""

    def __init__(self, chromium: Browser, gateway_url: str) -> None:
        self.gateway_url = gateway_url
        self.refused: list[str] = []
        self.context: BrowserContext = chromium.new_context()
        self.context.route("**/*", self._only_the_gateway)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(30_000)

    def _only_the_gateway(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.gateway_url) or url.startswith("data:"):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


@pytest.fixture
def offline(chromium: Browser, platform: Platform) -> Iterator[OfflinePage]:
    page = OfflinePage(chromium, platform.gateway.base_url)
    yield page
    page.context.close()
    assert page.refused == [], "the page reached outside the gateway"


def test_graphiql_runs_a_query_and_shows_the_result(
    offline: OfflinePage, platform: Platform
) -> None:
    page = offline.page
    page.goto(platform.gateway.base_url + "/graphql")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"products"')
    expect(result).to_contain_text('"total"')
    assert '"errors"' not in result.inner_text()


def test_graphiql_shows_a_deferred_answer(offline: OfflinePage, platform: Platform) -> None:
    """GraphiQL's fetcher asks for `multipart/mixed` (without deferSpec): the gateway sends
    the parts and GraphiQL merges the deferred one into the result it shows."""
    page = offline.page
    query = '{ products(limit: 2) { total ... @defer(label: "page") { items { id name } } } }'
    page.add_init_script(f"window.localStorage.setItem('graphiql:query', {json.dumps(query)});")
    answered: list[str] = []

    def record(response: Response) -> None:
        if response.url.endswith("/graphql") and response.request.method == "POST":
            answered.append(response.headers.get("content-type", ""))

    page.on("response", record)
    page.goto(platform.gateway.base_url + "/graphql")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"total"')
    expect(result).to_contain_text('"items"')
    assert '"errors"' not in result.inner_text()
    assert any(kind.startswith("multipart/mixed") for kind in answered), answered


def test_graphiql_runs_a_subscription_over_a_websocket(
    offline: OfflinePage, platform: Platform
) -> None:
    """A subscription typed in GraphiQL goes over a WebSocket to /graphql with the token of
    the headers editor in connection_init; a product changed meanwhile shows in the result."""
    page = offline.page
    admin = platform.make_token("admin-1", "admin")
    created = platform.graphql(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
        {"i": {"name": f"Watched {uuid.uuid4().hex[:6]}", "price": "2.00", "stock": 5}},
        admin,
    ).json()["data"]["createProduct"]["id"]
    query = f'subscription {{ productUpdated(id: "{created}") {{ id name stock }} }}'
    headers = json.dumps({"Authorization": f"Bearer {admin}"})
    page.add_init_script(
        f"window.localStorage.setItem('graphiql:query', {json.dumps(query)});"
        f"window.localStorage.setItem('graphiql:headers', {json.dumps(headers)});"
        "window.localStorage.setItem('graphiql:shouldPersistHeaders', 'true');"
    )
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(platform.gateway.base_url + "/graphql")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    for stock in range(6, 60):  # changes until one lands after the subscription opened
        platform.graphql(
            "mutation($id: ID!, $s: Int!) { updateProduct(id: $id, input: {stock: $s}) { id } }",
            {"id": created, "s": stock},
            admin,
        )
        try:
            expect(result).to_contain_text('"productUpdated"', timeout=500)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError("no event reached GraphiQL")
    expect(result).to_contain_text(f'"id": "{created}"')
    assert '"errors"' not in result.inner_text()
    assert sockets == [platform.gateway.base_url.replace("http", "ws", 1) + "/graphql"], sockets


def test_graphiql_explorer_lists_the_root_fields(offline: OfflinePage, platform: Platform) -> None:
    page = offline.page
    page.goto(platform.gateway.base_url + "/graphql")
    page.get_by_role("button", name="Show GraphiQL Explorer").click()
    explorer = page.locator(".graphiql-plugin")
    expect(explorer).to_contain_text("products")
    expect(explorer).to_contain_text("order")


def test_swagger_ui_authorizes_and_calls_an_admin_route(
    offline: OfflinePage, platform: Platform
) -> None:
    page = offline.page
    token = platform.make_token(sub=f"admin-{uuid.uuid4().hex[:8]}", role="admin")
    name = f"Swagger lamp {uuid.uuid4().hex[:8]}"
    page.goto(platform.gateway.base_url + "/docs")

    page.locator(".auth-wrapper button.authorize").click()
    page.locator(".auth-container input").fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()

    create = page.locator(".opblock-post").filter(
        has=page.locator('.opblock-summary-path[data-path="/products"]')
    )
    create.locator(".opblock-summary").click()
    create.locator("button.try-out__btn").click()
    create.locator("textarea.body-param__text").fill(
        json.dumps({"name": name, "price": "12.50", "stock": 3})
    )
    create.locator("button.execute").click()
    response = create.locator(".live-responses-table tbody tr.response")
    expect(response.locator(".response-col_status")).to_have_text("201")
    expect(response.locator(".response-col_description")).to_contain_text(name)
