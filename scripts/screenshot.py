"""Screenshot a run's report.html in headless Chromium (the picture of a real report in README.md and the docs).

    python scripts/screenshot.py reports/faithfulness/<run-id> docs/report.png [--height 1400]

The system Chromium is driven by Playwright, as in tests/reporting/test_report_browser.py; the top of the page
(what was run, what it says, the contents, the verdict) is what the picture shows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run folder holding report.html")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1300, help="viewport width in CSS pixels (default 1300)")
    parser.add_argument("--height", type=int, default=1400, help="height of the picture (default 1400)")
    parser.add_argument("--section", default="", help="scroll to this element id first (e.g. summary)")
    args = parser.parse_args()
    page_path = args.run_dir / "report.html"
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                   None)
    if not page_path.is_file() or browser is None:
        print(f"screenshot: {'no ' + str(page_path) if browser else 'no Chromium found (apt-get install chromium)'}",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        tab = chromium.new_page(viewport={"width": args.width, "height": args.height})
        tab.goto(page_path.resolve().as_uri())
        if args.section:
            tab.locator(f"#{args.section}").scroll_into_view_if_needed()
            tab.evaluate(f"document.getElementById('{args.section}').scrollIntoView()")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(args.out))
        chromium.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
