"""Forms of the supplies pages. Every stock form has a GTIN field first: a barcode scanner types the code and Enter,
and the item and pack are found from it (scan.js fills them in at once; without script the server does)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department, Location
from clinicdesk.ledger.models import Vendor

from .choices import ItemKind, MovementKind, PurchaseOrderStatus, StockLocationKind
from .codes import gtin_normalise
from .models import Item, Lot, StockLocation

DATE = forms.DateInput(attrs={"type": "date"})
QTY = {"max_digits": 14, "decimal_places": 3}


class ItemFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search", help_text="Name, SKU, NDC or CVX")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *ItemKind.choices])


class ItemForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Item
        fields = ["name", "kind", "sku", "base_unit", "ndc", "cvx", "preferred_vendor", "price", "valuation",
                  "allow_negative", "tracks_lots", "tracks_serials", "is_active"]

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_vendor"].queryset = Vendor.objects.filter(organization_id=organization_id)
        self.fields["ndc"].max_length = 13
        self.fields["ndc"].widget.attrs["maxlength"] = 13
        self.fields["ndc"].help_text = "4-4-2, 5-3-2 or 5-4-1 with hyphens, or 11 digits; kept as 11 digits."

    def _post_clean(self):  # the service checks the model (and names the field) after the form's own checks
        pass


class PackForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=40, label="Pack", help_text="e.g. box, case, vial")
    quantity = forms.DecimalField(min_value=Decimal("0.001"), label="Base units in it", **QTY)
    gtin = forms.CharField(required=False, max_length=20, label="GTIN (barcode)")


class StockLevelForm(ServiceErrorsMixin, forms.Form):
    stock_location = forms.ModelChoiceField(queryset=None, label="Stock location")
    par_level = forms.DecimalField(min_value=0, label="Par level", **QTY)
    reorder_point = forms.DecimalField(min_value=0, label="Reorder point", **QTY)

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stock_location"].queryset = StockLocation.objects.filter(organization_id=organization_id,
                                                                              is_active=True)


class _StockForm(ServiceErrorsMixin, forms.Form):
    """The fields every stock form shares: the scan, the item, where, how many and in what unit."""

    gtin = forms.CharField(required=False, max_length=20, label="Scan GTIN",
                           help_text="Scan the barcode (or type it and press Enter).",
                           widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off",
                                                         "data-gtin-scan": "1", "inputmode": "numeric"}))
    item = forms.ModelChoiceField(queryset=None, required=False, label="Item")
    stock_location = forms.ModelChoiceField(queryset=None, label="Stock location")
    quantity = forms.DecimalField(min_value=Decimal("0.001"), label="Quantity", **QTY)
    unit = forms.CharField(required=False, max_length=40, label="Unit",
                           help_text="A pack name (box) or the base unit; empty is the base unit.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id
        self.fields["item"].queryset = Item.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["stock_location"].queryset = StockLocation.objects.filter(organization_id=organization_id,
                                                                              is_active=True)
        self.pack = None

    def clean_gtin(self) -> str:
        try:
            return gtin_normalise(self.cleaned_data.get("gtin", ""))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean(self):
        data = super().clean()
        code = data.get("gtin")
        if code:
            from .models import Pack

            pack = Pack.objects.filter(organization_id=self.organization_id, gtin=code).select_related("item").first()
            if pack is None:
                self.add_error("gtin", f"No pack of ours has GTIN {code}.")
            else:
                self.pack = pack
                data["item"] = pack.item
                if not data.get("unit"):
                    data["unit"] = pack.name
        if not data.get("item") and "gtin" not in self.errors:
            self.add_error("item", "Choose the item or scan its barcode.")
        return data


SERIALS_HELP = "Items tracked by serial number: one per line or separated by commas, as many as the quantity."


def serials_field(label: str = "Serial numbers") -> forms.CharField:
    return forms.CharField(required=False, max_length=50_000, label=label, help_text=SERIALS_HELP,
                           widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}))


class ReceiveForm(_StockForm):
    lot_number = forms.CharField(required=False, max_length=40, label="Lot number")
    serials = serials_field()
    expires_on = forms.DateField(required=False, label="Expires", widget=DATE)
    unit_cost = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=4,
                                   label="Cost per base unit", help_text="Empty: the item's price.")
    confirm_expired = forms.BooleanField(required=False, label="Receive it although it has expired")


class UseForm(_StockForm):
    lot = forms.ModelChoiceField(queryset=None, required=False, label="Lot or serial",
                                 help_text="Empty: the first-expiring lot or serial (FEFO).")
    patient_mrn = forms.CharField(required=False, max_length=20, label="Patient MRN")
    encounter_ref = forms.CharField(required=False, max_length=64, label="Encounter")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = Lot.objects.filter(organization_id=self.organization_id).select_related("item")


class TransferForm(_StockForm):
    lot = forms.ModelChoiceField(queryset=None, label="Lot or serial")
    to_location = forms.ModelChoiceField(queryset=None, label="To stock location")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = Lot.objects.filter(organization_id=self.organization_id).select_related("item")
        self.fields["to_location"].queryset = self.fields["stock_location"].queryset


REMOVE_KINDS = [(MovementKind.WASTE, "Waste"), (MovementKind.EXPIRY, "Expired"), (MovementKind.RETURN, "Return to vendor"),
                (MovementKind.ADJUSTMENT, "Adjustment (found or lost)")]


class RemoveForm(_StockForm):
    """Waste, expired, return to vendor, or an adjustment (a signed quantity: managers only)."""

    lot = forms.ModelChoiceField(queryset=None, label="Lot or serial")
    kind = forms.ChoiceField(choices=REMOVE_KINDS, label="What happened")
    reason = forms.CharField(max_length=200, label="Reason")
    found = forms.BooleanField(required=False, label="Found stock (adds to on hand)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = Lot.objects.filter(organization_id=self.organization_id).select_related("item")



class CountForm(ServiceErrorsMixin, forms.Form):
    """One field per lot on the shelf: what was counted (empty: not counted)."""

    def __init__(self, *args, balances, **kwargs):
        super().__init__(*args, **kwargs)
        self.balances = list(balances)
        for balance in self.balances:
            self.fields[f"lot_{balance.lot_id}"] = forms.DecimalField(
                required=False, min_value=0, label=f"{balance.item.name} {balance.lot}", **QTY)

    def counts(self) -> list[tuple[Lot, Decimal]]:
        return [(b.lot, self.cleaned_data[f"lot_{b.lot_id}"]) for b in self.balances
                if self.cleaned_data.get(f"lot_{b.lot_id}") is not None]


class StockLocationForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, label="Name", widget=forms.TextInput(attrs={"autofocus": True}))
    location = forms.ModelChoiceField(queryset=None, label="Office")
    department = forms.ModelChoiceField(queryset=None, label="Department", help_text="Charged when its stock is used.")
    kind = forms.ChoiceField(choices=StockLocationKind.choices, label="Kind")
    is_active = forms.BooleanField(required=False, initial=True, label="Open (stock may be kept here)")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search", help_text="Order number or vendor")
    status = forms.ChoiceField(required=False, label="Status", choices=[
        ("", "Any status"), ("open", "Open (approved, sent, partly received)"), ("backorder", "With a backorder"),
        *PurchaseOrderStatus.choices])


class OrderForm(ServiceErrorsMixin, forms.Form):
    """An order's head; its lines are the `line_<n>_*` fields (LINE_ROWS empty rows after those it has)."""

    number = forms.CharField(required=False, max_length=30, label="Order number", help_text="Empty: the next number.")
    vendor = forms.ModelChoiceField(queryset=None, label="Vendor")
    stock_location = forms.ModelChoiceField(queryset=None, label="Deliver to")
    expected_on = forms.DateField(required=False, label="Expected", widget=DATE)
    vendor_email = forms.EmailField(required=False, label="Vendor e-mail",
                                    help_text="Empty on a new order: the vendor's e-mail address.")
    notes = forms.CharField(required=False, max_length=500, label="Notes")

    LINE_ROWS = 5

    def __init__(self, *args, organization_id: int, lines: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.filter(organization_id=organization_id)
        self.fields["stock_location"].queryset = StockLocation.objects.filter(organization_id=organization_id,
                                                                              is_active=True)
        items = Item.objects.filter(organization_id=organization_id, is_active=True)
        self.rows = max(lines, 0) + self.LINE_ROWS
        for n in range(1, self.rows + 1):
            self.fields[f"line_{n}_item"] = forms.ModelChoiceField(queryset=items, required=False, label=f"Line {n} item")
            self.fields[f"line_{n}_quantity"] = forms.DecimalField(required=False, min_value=Decimal("0.001"),
                                                                   label=f"Line {n} quantity", **QTY)
            self.fields[f"line_{n}_unit"] = forms.CharField(required=False, max_length=40, label=f"Line {n} unit")
            self.fields[f"line_{n}_unit_price"] = forms.DecimalField(
                required=False, min_value=0, max_digits=14, decimal_places=4, label=f"Line {n} price per unit")

    def line_rows(self):
        return [[self[f"line_{n}_{f}"] for f in ("item", "quantity", "unit", "unit_price")]
                for n in range(1, self.rows + 1)]

    def lines(self) -> list[tuple]:
        """(item, quantity, unit, unit price) of each filled row; a row with an item and no quantity is an error."""
        out = []
        for n in range(1, self.rows + 1):
            item, quantity = self.cleaned_data.get(f"line_{n}_item"), self.cleaned_data.get(f"line_{n}_quantity")
            if item is None and quantity is None:
                continue
            if item is None or quantity is None:
                self.add_error(f"line_{n}_item" if item is None else f"line_{n}_quantity",
                               f"Line {n}: give both the item and the quantity.")
                continue
            out.append((item, quantity, self.cleaned_data.get(f"line_{n}_unit") or "",
                        self.cleaned_data.get(f"line_{n}_unit_price")))
        return out


class ApproveForm(ServiceErrorsMixin, forms.Form):
    override_reason = forms.CharField(required=False, max_length=300, label="Reason to approve over budget")


class SendForm(ServiceErrorsMixin, forms.Form):
    vendor_email = forms.EmailField(required=False, label="E-mail to", help_text="Empty: mark as sent (by phone or "
                                                                                 "the vendor's portal).")


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(required=False, max_length=300, label="Reason")


class ReceiveOrderForm(ServiceErrorsMixin, forms.Form):
    """One row per line still to come: how many arrived (in the line's unit), the lot and its expiry."""

    received_on = forms.DateField(required=False, label="Received on", widget=DATE)
    expected_on = forms.DateField(required=False, label="Backorder expected", widget=DATE,
                                  help_text="When what is still to come should arrive.")

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_lines = [line for line in lines if line.outstanding > 0]
        for line in self.order_lines:
            p = line.position
            self.fields[f"line_{p}_quantity"] = forms.DecimalField(required=False, min_value=0,
                                                                   label=f"Line {p} {line.item.name} received", **QTY)
            self.fields[f"line_{p}_unit"] = forms.CharField(required=False, max_length=40, label=f"Line {p} unit",
                                                            initial=line.unit or line.item.base_unit)
            if line.item.tracks_serials:
                self.fields[f"line_{p}_serials"] = serials_field(f"Line {p} serial numbers")
            else:
                self.fields[f"line_{p}_lot_number"] = forms.CharField(required=False, max_length=40,
                                                                      label=f"Line {p} lot number")
            self.fields[f"line_{p}_expires_on"] = forms.DateField(required=False, label=f"Line {p} expires",
                                                                  widget=DATE)
            self.fields[f"line_{p}_confirm_expired"] = forms.BooleanField(
                required=False, label=f"Line {p}: receive although expired")

    def rows(self):
        """Each line with its fields; a serial-tracked item's serial numbers stand where a lot number would."""
        return [(line, [self[f"line_{line.position}_{f}"] for f in (
                    "quantity", "unit", "serials" if line.item.tracks_serials else "lot_number", "expires_on",
                    "confirm_expired")])
                for line in self.order_lines]


class BillForm(ServiceErrorsMixin, forms.Form):
    number = forms.CharField(max_length=60, label="Vendor invoice number")
    bill_date = forms.DateField(label="Bill date", widget=DATE)
    due_date = forms.DateField(label="Due", widget=DATE)
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=14, decimal_places=2, label="Amount")
