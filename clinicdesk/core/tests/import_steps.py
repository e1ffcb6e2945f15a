"""Browser steps of the import pages' tests: every list's import goes through the same page
(`core/csv_import_views.py`), checked first and saved only on confirmation."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def upload(page: Page, name: str, text: str) -> None:
    """Choose `text` as the CSV file `name` and have it checked."""
    page.get_by_label("CSV or XLSX file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": text.encode()})
    page.get_by_role("button", name="Check the file").click()


def expect_one_line_to_fix(page: Page, message: str) -> Locator:
    """The preview of a two-row file whose second row is wrong: that row names the problem, and nothing can be
    confirmed. Returns the preview's rows."""
    expect(page.get_by_role("heading", name="1 row to fix; nothing was saved")).to_be_visible()
    rows = page.locator("#import-preview tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text(message)
    expect(page.get_by_role("button", name="Import 2 rows")).to_have_count(0)
    return rows
