"""Issue 15: Django admin in the console's look (templates/admin/base_site.html, static/css/admin.css) at 390 px
and 1280 px: the "Frontdesk support" header on the console's white bar, the console's accent and font, Django
admin's own structure, and no serious or critical axe-core violation on the admin index and the patient list.
Screenshots: docs/screenshots/admin-<page>-<width>.png."""
import pytest
from django.contrib.auth.models import Permission

from clinics.models import User
from tests.browser.console_desk import WIDTHS, build_day, open_context, shoot
from tests.browser.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

ACCENT = "rgb(11, 110, 153)"  # console.css --accent #0b6e99
CHECKED = {"index", "patients"}  # axe runs on these (the brief's pages); every page is shot


def support_user(clinic):
    """A support viewer of `clinic`: sees its rows, personal data masked."""
    user = User.objects.create_user(email="support@frontdesk.local", password="x-long-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    user.support_clinics.add(clinic)
    return user


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_admin_looks_like_the_console_and_passes_axe(chromium, live_server, client, transactional_db, clinic,
                                                    width):
    desk = build_day(clinic)
    maria = desk["maria"]
    context = open_context(chromium, live_server, client, support_user(clinic), width)
    page = context.new_page()
    pages = {"index": "/admin/", "patients": "/admin/scheduling/patient/",
             "patient": f"/admin/scheduling/patient/{maria.pk}/change/",
             "patients-search": "/admin/scheduling/patient/?q=maria"}
    found = {}
    for name, url in pages.items():
        response = page.goto(url)
        assert response.status == 200, (name, response.status)
        # goto waits for the load event (styles, scripts, images in); no page fetches at load, so Playwright's
        # "networkidle" (half a second without requests, per page) added only waiting.
        header = page.locator("#site-name")
        assert header.inner_text().strip() == "Frontdesk support"
        assert page.title().endswith("Frontdesk support")
        styles = page.evaluate("""() => {
            const css = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
            return {header: css('#header', 'backgroundColor'), brand: css('#site-name .brand', 'color'),
                    font: css('body', 'fontFamily')};
        }""")
        assert styles["header"] == "rgb(255, 255, 255)" and styles["brand"] == ACCENT, styles
        assert styles["font"].startswith("system-ui"), styles
        if name in CHECKED:
            problems = serious_violations(page)
            if problems:
                found[name] = problems
        shoot(page, f"admin-{name}-{width}.png")
    # Django admin's structure is kept: its sidebar, breadcrumbs and result table are still there.
    page.goto(pages["patients"])
    assert page.locator("#changelist #result_list").count() == 1 and page.locator("div.breadcrumbs").count() == 1
    assert page.locator("#result_list tbody tr").count() == 2  # the clinic's two patients, masked
    assert maria.name not in page.content()
    context.close()
    assert found == {}, "\n".join(f"{name}: {problem}" for name, problems in found.items() for problem in problems)
