"""Items from a CSV or XLSX file: each row matched to an item by SKU (or, without one, by name among the items
without a SKU), checked, and saved through `item_save` like the item form. All or nothing, with a dry run."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Organization
from clinicdesk.core.tables import ImportResult, TableRow, row_fail_error, rows_save, table_read
from clinicdesk.ledger.models import Vendor

from ..choices import ItemKind, Valuation
from ..codes import cvx_normalise, ndc_display, ndc_normalise
from ..models import Item
from .items import item_save, quantity_text

# The download has these columns, then on_hand (what the stock ledger says; an import leaves it alone).
ITEM_COLUMNS = ("name", "kind", "sku", "ndc", "cvx", "base_unit", "price", "valuation", "preferred_vendor",
                "allow_negative", "tracks_lots", "tracks_serials", "active")
EXPORT_COLUMNS = (*ITEM_COLUMNS, "on_hand")
REQUIRED_COLUMNS = ("name",)
# Where a refusal of item_save (by model field) shows in the file.
FIELD_COLUMNS = {"is_active": "active"}
_YES, _NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
_PRICE_RE = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,4})?$")
_FLAGS = {"allow_negative": "allow_negative", "tracks_lots": "tracks_lots", "tracks_serials": "tracks_serials",
          "active": "is_active"}


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def item_export_row(item: Item) -> list:
    """One item as the download writes it: the import's columns, then what is on hand."""
    return [item.name, item.get_kind_display(), item.sku, ndc_display(item.ndc), item.cvx, item.base_unit, item.price,
            item.get_valuation_display(), item.preferred_vendor.name if item.preferred_vendor else "",
            _yes_no(item.allow_negative), _yes_no(item.tracks_lots), _yes_no(item.tracks_serials),
            _yes_no(item.is_active), quantity_text(getattr(item, "on_hand", Decimal("0")))]


def _choice(row: TableRow, column: str, choices) -> str | None:
    """A choice written as its value or its label (any case); None when blank."""
    text = row.cell(column)
    if not text:
        return None
    wanted = text.casefold()
    for value, label in choices.choices:
        if wanted in (value.casefold(), str(label).casefold()):
            return value
    row.fail(column, f"{text} is not one of: {', '.join(str(label) for _, label in choices.choices)}.")
    return None


def _row_data(row: TableRow, *, vendors: dict[str, Vendor], columns: tuple[str, ...]) -> dict:
    """The item fields a row gives (a column missing from the file, or a blank flag or choice, keeps the item's)."""
    data: dict = {"name": row.cell("name")}
    if not data["name"]:
        row.fail("name", "a name is required.")
    for column, choices in (("kind", ItemKind), ("valuation", Valuation)):
        value = _choice(row, column, choices)
        if value is not None:
            data[column] = value
    for column, normalise in (("ndc", ndc_normalise), ("cvx", cvx_normalise)):
        if column in columns:
            try:
                data[column] = normalise(row.cell(column))
            except ValidationError as exc:
                row_fail_error(row, exc)
    if "sku" in columns:
        data["sku"] = row.cell("sku")
    if row.cell("base_unit"):
        data["base_unit"] = row.cell("base_unit")
    price = row.cell("price")
    if price:
        if _PRICE_RE.match(price):
            data["price"] = Decimal(price)
        else:
            row.fail("price", f"{price} is not a price of one base unit; write it like 12.50 (up to 4 decimals, "
                              "no currency sign).")
    if "preferred_vendor" in columns:
        name = row.cell("preferred_vendor")
        vendor = vendors.get(name.casefold()) if name else None
        if name and vendor is None:
            row.fail("preferred_vendor", f"no vendor is called {name}; add the vendor first.")
        data["preferred_vendor"] = vendor
    for column, name in _FLAGS.items():
        text = row.cell(column).casefold()
        if text in _YES or text in _NO:
            data[name] = text in _YES
        elif text:
            row.fail(column, f"{row.cell(column)} is not yes or no.")
    return data


def _match(rows: list[TableRow], *, organization: Organization) -> None:
    """Each row's item: by SKU, else by exact name among items without a SKU; a SKU or name twice is refused."""
    by_sku: dict[str, list[Item]] = {}
    by_name: dict[str, list[Item]] = {}
    for item in Item.objects.filter(organization=organization).select_related("preferred_vendor"):
        if item.sku:
            by_sku.setdefault(item.sku.casefold(), []).append(item)
        else:
            by_name.setdefault(item.name.casefold(), []).append(item)
    seen: dict[str, int] = {}
    for row in rows:
        sku = row.cell("sku")
        key, found, column = ((f"sku:{sku.casefold()}", by_sku.get(sku.casefold(), []), "sku") if sku
                              else (f"name:{row.cell('name').casefold()}", by_name.get(row.cell("name").casefold(), []),
                                    "name"))
        if key in seen:
            row.fail(column, f"the same {column.upper() if sku else column} as line {seen[key]}.")
            continue
        seen[key] = row.line
        if len(found) > 1:
            row.fail(column, f"{len(found)} items have {column.upper() if sku else 'the name'} {row.cell(column)}; "
                             "give each its own first.")
        elif found:
            row.target = found[0]


def _outcome(row: TableRow, data: dict) -> str:
    if row.target is None:
        return ImportOutcome.NEW
    item = row.target
    changed = any(getattr(item, name) != value for name, value in data.items() if name != "preferred_vendor")
    if "preferred_vendor" in data:
        changed = changed or item.preferred_vendor_id != (data["preferred_vendor"].pk if data["preferred_vendor"] else None)
    return ImportOutcome.UPDATED if changed else ImportOutcome.UNCHANGED


@transaction.atomic
def items_import(*, organization: Organization, file, actor, dry_run: bool) -> ImportResult:
    """Import items from CSV or XLSX (the list's download is a valid file). Every row goes through `item_save`,
    also in a dry run (then undone), so the preview shows every refusal; one bad row and nothing is saved."""
    table = table_read(file, required=REQUIRED_COLUMNS, expected=ITEM_COLUMNS)
    vendors = {v.name.casefold(): v for v in Vendor.objects.filter(organization=organization)}
    rows = [TableRow(line=line.line, cells=line.cells(EXPORT_COLUMNS)) for line in table.rows]
    _match(rows, organization=organization)
    wanted: dict[int, dict] = {}
    for row in rows:
        data = _row_data(row, vendors=vendors, columns=table.columns)
        if row.outcome != ImportOutcome.ERROR:
            row.outcome = _outcome(row, data)
            wanted[row.line] = data
    result = ImportResult(rows=rows, dry_run=dry_run)

    def save(row: TableRow) -> None:
        item_save(organization=organization, actor=actor, data=wanted[row.line], item=row.target)

    # The rows that read well are still saved (and undone) to show every refusal at once.
    rows_save(result, save=save, columns=FIELD_COLUMNS)
    if result.saved:
        counts = result.counts
        audit_event(action="inventory.items_imported", actor=actor, organization_id=organization.pk,
                    summary=f"Items imported: {counts['new']} new, {counts['updated']} updated, "
                            f"{counts['unchanged']} unchanged", changes={"counts": counts})
    return result
