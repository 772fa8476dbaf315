"""The page in a real browser: headless Chromium from the system's packages, driven by
Selenium through the system's chromedriver (nothing is downloaded).

Skipped, with the reason printed, when Chromium or chromedriver is missing
(``make test-browser`` installs them). With the MovieLens mirror the page serves the
default model on ml-latest-small, otherwise a small synthetic model with made-up titles.
A screenshot is written to ``$RECSYS_APP_SCREENSHOT`` when set (``make test-browser``
writes ``docs/app.png``), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _app_fixtures import fitted, live_server

from recsys_helpers import config
from recsys_helpers.app.server import create_app

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT_ENV = "RECSYS_APP_SCREENSHOT"
WAIT = 20  # seconds any single wait may take

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="browser test skipped: Chromium and chromedriver are not installed "
        "(run `make test-browser`, which installs them with apt-get)",
    ),
]


@pytest.fixture(scope="module")
def served():
    """``(url, query, title, user_id)``: the page on a live server and what to search."""
    mirror = config.mirror_dir()
    if mirror is not None and (mirror / "ml-latest-small").exists():
        from recsys_helpers.data import movielens
        from recsys_helpers.models import BiasedMF

        movies = movielens.load_movies("ml-latest-small", mirror=mirror, progress=False)
        ratings = movielens.load_ratings("ml-latest-small", mirror=mirror, progress=False)
        model = BiasedMF().fit(ratings)
        case = ("amel", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", 1)
        dataset = "ml-latest-small"
    else:
        model, movies, ratings = fitted()
        case = (
            "amel",
            "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
            int(model.users_.ids[0]),
        )
        dataset = "synthetic"
    app = create_app(model, movies, ratings=ratings, dataset=dataset)
    with live_server(app) as url:
        yield (url, *case)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # running as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,820",
        "--force-device-scale-factor=1",
        "--lang=en-GB",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def _wait(driver, condition, message):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition, message)


def _titles(driver, list_id):
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, f"#{list_id} > li .head .title")]


def test_search_pick_rate_and_the_list_changes(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, query, title, _ = served
    browser.get(url)
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "recommendations").get_attribute("data-rated") == "0",
        "the first list (no ratings) never came",
    )
    assert "K = " in browser.find_element(By.ID, "model-info").text
    before = _titles(browser, "recommendations")
    assert len(before) == 10

    box = browser.find_element(By.ID, "search")
    box.send_keys(query)
    option = _wait(
        browser,
        lambda d: next(
            (
                o
                for o in d.find_elements(By.CSS_SELECTOR, "#suggestions [role=option]")
                if title in o.text
            ),
            False,
        ),
        f"no suggestion {title!r} for {query!r}",
    )
    assert box.get_attribute("aria-expanded") == "true"
    option.click()

    slider = _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "#rated li .stars[role=slider]"),
        "the picked movie was not listed",
    )
    assert title in browser.find_element(By.CSS_SELECTOR, "#rated li .title").text
    assert slider.get_attribute("aria-valuetext") == "not rated"
    assert browser.switch_to.active_element == slider  # focus moved to the stars
    slider.click()  # the middle of five stars: 2.5
    assert slider.get_attribute("aria-valuenow") == "2.5"
    slider.send_keys(Keys.END)  # keyboard: the top of the scale
    assert slider.get_attribute("aria-valuenow") == "5"

    _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "recommendations").get_attribute("data-rated") == "1"
            and not d.find_element(By.ID, "recommendations").get_attribute("aria-busy")
        ),
        "the list did not refresh after rating",
    )
    after = _titles(browser, "recommendations")
    assert len(after) == 10
    assert after != before
    assert title not in after  # a rated movie is not recommended
    because = browser.find_elements(By.CSS_SELECTOR, "#recommendations .because")
    assert because and all(title in b.text for b in because)

    # A second movie by keyboard only: type, Enter picks the first match, digits and
    # arrows rate it.
    box.send_keys("the matrix 1999")
    _wait(
        browser,
        lambda d: any(
            "Matrix, The (1999)" in o.text
            for o in d.find_elements(By.CSS_SELECTOR, "#suggestions [role=option]")
        ),
        "no suggestion for the matrix 1999",
    )
    box.send_keys(Keys.ENTER)
    second = _wait(
        browser,
        lambda d: (
            d.switch_to.active_element.get_attribute("role") == "slider"
            and d.switch_to.active_element
        ),
        "the focus did not move to the second movie's stars",
    )
    second.send_keys("4", Keys.ARROW_RIGHT)
    assert second.get_attribute("aria-valuenow") == "4.5"
    _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "recommendations").get_attribute("data-rated") == "2"
            and not d.find_element(By.ID, "recommendations").get_attribute("aria-busy")
        ),
        "the list did not refresh after the second rating",
    )

    destination = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "app.png")
    destination.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    assert browser.save_screenshot(str(destination))
    assert destination.stat().st_size > 10_000


def test_removing_the_ratings_restores_the_list(served, browser):
    from selenium.webdriver.common.by import By

    for _ in range(len(browser.find_elements(By.CSS_SELECTOR, "#rated li"))):
        browser.find_element(By.CSS_SELECTOR, "#rated li button.remove").click()
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "recommendations").get_attribute("data-rated") == "0",
        "the list did not refresh after removing the ratings",
    )
    assert not browser.find_elements(By.CSS_SELECTOR, "#rated li")


def test_a_user_of_the_data(served, browser):
    from selenium.webdriver.common.by import By

    url, _, _, user_id = served
    browser.get(url)
    browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=user]").click()
    field = browser.find_element(By.ID, "user-id")
    assert browser.switch_to.active_element == field
    field.send_keys(str(user_id))
    browser.find_element(By.CSS_SELECTOR, "#user-form button").click()
    _wait(
        browser,
        lambda d: (
            len(_titles(d, "user-recommendations")) == 10
            and d.find_elements(By.CSS_SELECTOR, "#history li")
        ),
        "the user's history and list never came",
    )
    assert f"User {user_id} rated" in browser.find_element(By.ID, "user-status").text


def test_the_openapi_page_renders_offline(served, browser):
    from selenium.webdriver.common.by import By

    browser.get(served[0] + "/docs")
    paths = _wait(
        browser,
        lambda d: (
            [e.text for e in d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")] or False
        ),
        "the OpenAPI page did not render its endpoints",
    )
    assert "/api/recommendations" in paths and "/api/movies/{movieId}/similar" in paths
