"""report.html as a reader meets it: opened in a real headless Chromium (the system package, driven by
Playwright), offline. Without a browser the test skips with the reason, except under CI, where it fails."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from support import models_json, write_run

from iabench.reporting import build_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser_path() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        found, reason = None, "Playwright is not installed (pip install -e '.[test]')"
    else:
        reason = "no Chromium found (apt-get install -y chromium)"
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must check the report in a browser: {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    executable = browser_path()
    from playwright.sync_api import sync_playwright

    run = tmp_path_factory.mktemp("run")
    write_run(run)
    (run / "models.json").write_text(json.dumps(models_json()))  # a reference IA-ViT: the verdict is drawn
    build_report(run)
    errors, requests = [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1300, "height": 900})
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.on("request", lambda request: requests.append(request.url))
        tab.goto((run / "report.html").as_uri())
        tab.wait_for_load_state("load")
        yield tab, errors, requests, run
        browser.close()


def test_the_page_loads_offline_without_errors_and_every_image_decodes(page) -> None:
    tab, errors, requests, _ = page
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from the network
    widths = tab.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) >= 7 and min(widths) > 0  # curves x2, bars, heatmaps x2, training, critical difference


def test_no_raw_markdown_and_no_empty_cell(page) -> None:
    tab, _, _, run = page
    text = tab.inner_text("body")
    for mark in ("**", "`", "]("):
        assert mark not in text, mark
    assert "Claim (i)" in text and tab.locator("strong", has_text="Claim (i)").count() == 1  # rendered bold
    empty = tab.eval_on_selector_all("td, th", "cells => cells.filter(c => c.textContent.trim() === '').length")
    assert empty == 0
    assert tab.locator("details summary", has_text="Configuration").count() == 1
    assert tab.locator("nav a[href='#summary']").count() == 1


def rows_of(tab, table) -> list[list[str]]:
    return [table.locator("tbody").nth(i).evaluate(
        "body => [...body.rows].map(r => [...r.cells].slice(0, 2).map(c => c.textContent).join('/'))")
        for i in range(table.locator("tbody").count())]


def by_mean(run, metric: str, rows: list[str], descending: bool) -> list[str]:
    """The rows ordered by their mean in summary.csv (pandas, not the page); ties keep the given order."""
    summary = pd.read_csv(run / "summary.csv")
    means = {f"{r.model}/{r.explainer}": r.mean for r in summary[summary.metric == metric].itertuples()}
    return sorted(rows, key=lambda row: -means[row] if descending else means[row])


def test_clicking_a_header_sorts_each_group_by_the_numbers(page) -> None:
    tab, _, _, run = page
    table = tab.locator("#summary-faithfulness-explainers + p + table")
    methods = ["ia-vit/attention", "ia-vit/ia-vit", "vit/attention", "vit/rollout"]
    assert rows_of(tab, table) == [methods, ["ia-vit/random", "vit/random"]]  # controls below the rule
    header = table.locator("thead th", has_text="deletion")
    header.click()  # lower is better: best first = ascending
    ascending = by_mean(run, "deletion", methods, descending=False)
    assert ascending != methods and rows_of(tab, table) == [ascending, ["ia-vit/random", "vit/random"]]
    header.click()  # again: the other way
    assert rows_of(tab, table) == [by_mean(run, "deletion", ascending, descending=True),
                                   ["vit/random", "ia-vit/random"]]
    table.locator("thead th", has_text="insertion").click()  # higher is better: best first = descending
    shown = rows_of(tab, table)[0]
    assert shown == by_mean(run, "insertion", shown, descending=True) and shown[0] == "ia-vit/ia-vit"


def test_the_headline_figure_starts_on_the_first_screen(page) -> None:
    tab, _, _, _ = page
    image = tab.locator("#headline img")
    box = image.bounding_box()
    assert box is not None and box["y"] < 900 and box["height"] > 200  # the viewport is 900 px high
    assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    assert image.get_attribute("alt").startswith("Dot plot of deletion (lower is better)")
