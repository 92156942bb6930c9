"""`/docs` (Swagger UI) and `/docs/redoc` (ReDoc) render with no network access: every request that does not go
to the live server is aborted, and the pages must still draw the API's operations from the files that
drf-spectacular-sidecar ships (SPECTACULAR_SETTINGS SWAGGER_UI_DIST / REDOC_DIST = "SIDECAR")."""
import pytest

from tests.browser.console_desk import WIDTHS, shoot

pytestmark = pytest.mark.browser


def _offline_page(chromium, live_server, width):
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width])
    context.set_default_timeout(30_000)
    blocked = []

    def only_local(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    return context, context.new_page(), blocked


def _operations_drawn_while_scrolling(page, expected, passes=5):
    """The paths Swagger UI draws from the top of the page to its bottom. This Swagger UI draws only the tag
    sections near the viewport, so the page is scrolled a screen at a time and what each screen shows is
    gathered. On a loaded machine a section may be drawn only after the screen has moved on: the page is walked
    again (at most `passes` times, slower each time) until every `expected` path was seen."""
    drawn = set()
    for walk in range(passes):
        page.evaluate("() => window.scrollTo(0, 0)")
        for _ in range(400):
            drawn.update(page.locator(".swagger-ui .opblock-summary-path").all_inner_texts())
            at_bottom = page.evaluate("""() => {
                window.scrollBy(0, window.innerHeight);
                return window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
            }""")
            page.wait_for_timeout(50 * (walk + 1))
            if at_bottom:
                drawn.update(page.locator(".swagger-ui .opblock-summary-path").all_inner_texts())
                break
        seen = {path.replace("\u200b", "").strip() for path in drawn}
        if expected <= seen:
            break
    return seen


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_swagger_ui_renders_the_operations_with_every_outside_request_blocked(chromium, live_server, db, width):
    context, page, blocked = _offline_page(chromium, live_server, width)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto("/docs")
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=60_000)
    documented = set(page.request.get("/api/schema/?format=json").json()["paths"])
    drawn = _operations_drawn_while_scrolling(page, documented)
    assert len(documented) > 90 and drawn == documented
    assert "/v1/appointments" in drawn
    assert page.locator(".swagger-ui .info .title", has_text="Frontdesk API").is_visible()
    scripts = page.locator("script[src]").evaluate_all("nodes => nodes.map(node => node.src)")
    assert scripts and all(src.startswith(live_server.url) for src in scripts)
    assert blocked == [] and failed == []
    shoot(page, f"docs-{width}.png")
    context.close()


def test_redoc_renders_the_operations_with_every_outside_request_blocked(chromium, live_server, db):
    context, page, blocked = _offline_page(chromium, live_server, "1280")
    page.goto("/docs/redoc")
    page.locator("[data-section-id^='operation/']").first.wait_for(timeout=60_000)
    assert page.locator("[data-section-id^='operation/']").count() > 20
    # Only ReDoc's own "API docs by Redocly" footer logo, built into its bundle, is asked from outside (and
    # blocked); the page template no longer loads web fonts.
    assert all(url.startswith("https://cdn.redoc.ly/") for url in blocked)
    context.close()
