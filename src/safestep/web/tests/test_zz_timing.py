import time
import pytest
from safestep.web.tests.browser import assert_accessible
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_timing(people, district, open_case):
    case = open_case()
    t = time.time(); page = people.page("site_admin"); print("signin", time.time() - t)
    t = time.time(); page.goto(people.url(f"/cases/{case.pk}/")); print("goto", time.time() - t)
    for _ in range(3):
        t = time.time(); assert_accessible(page); print("axe", time.time() - t)
    t = time.time(); page.reload(); print("reload", time.time() - t)
