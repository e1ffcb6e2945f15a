"""Encounters and their services: what was done at a visit, coded and priced, reviewed, then posted as charges."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Department, Location, Organization
from clinicdesk.patients.models import new_public_id

from ..choices import EncounterStatus, PlaceOfService

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_DIAGNOSES = 12  # the claim form's limit
MAX_POINTERS = 4  # diagnosis pointers per service line
MAX_MODIFIERS = 4


class Encounter(models.Model):
    """One visit's billable record, usually made from a completed appointment. Its diagnoses and services are
    coded by the clinician, checked by the biller in the review queue, and posted as charges when approved."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="encounters")
    appointment = models.OneToOneField(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="encounter"
    )
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="encounters",
                                 help_text="The rendering provider.")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Revenue is booked to this department.")
    service_date = models.DateField()
    place_of_service = models.CharField(max_length=2, choices=PlaceOfService.choices, default=PlaceOfService.OFFICE)
    status = models.CharField(max_length=10, choices=EncounterStatus.choices, default=EncounterStatus.DRAFT)
    superbill = models.ForeignKey("billing.SuperbillTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    review_flags = models.JSONField(default=list, blank=True,
                                    help_text="What the review found: [{'field': ..., 'message': ...}].")
    hold_reason = models.CharField(max_length=300, blank=True)
    coded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    charge_entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-service_date", "-id"]
        indexes = [models.Index(fields=["organization", "status", "service_date"], name="billing_enc_org_status_date")]

    def __str__(self) -> str:
        return f"Encounter {self.service_date:%m/%d/%Y} · {self.patient}"

    @property
    def is_editable(self) -> bool:
        return self.status in (EncounterStatus.DRAFT, EncounterStatus.IN_REVIEW, EncounterStatus.ON_HOLD)


class EncounterDiagnosis(models.Model):
    """An ICD-10-CM code on an encounter, in claim order (1 is the primary diagnosis, up to 12)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses")
    sequence = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=8, help_text="With its dot, e.g. E11.9.")
    description = models.CharField(max_length=250)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["encounter", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "sequence"], name="billing_dx_sequence_unique"),
            models.UniqueConstraint(fields=["encounter", "code"], name="billing_dx_code_unique"),
            models.CheckConstraint(condition=models.Q(sequence__gte=1, sequence__lte=MAX_DIAGNOSES),
                                   name="billing_dx_sequence_range"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.code} {self.description}"


class ServiceLine(models.Model):
    """One billed service: a procedure code with modifiers and units, priced from the fee schedule on the service
    date, pointing at up to four of the encounter's diagnoses. Posting opens a receivable item for it."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="services")
    sequence = models.PositiveSmallIntegerField()
    procedure_code = models.CharField(max_length=10)
    code_system = models.CharField(max_length=5, default="CPT")
    modifiers = models.CharField(max_length=15, blank=True, help_text="Up to four, comma separated, e.g. 25 or 26,TC.")
    description = models.CharField(max_length=200, help_text="The practice's description when it was coded.")
    units = models.PositiveSmallIntegerField(default=1)
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY, help_text="Units × unit price.")
    diagnosis_pointers = models.CharField(max_length=11, help_text="Sequences of the encounter's diagnoses, e.g. 1,2.")
    rendering_provider = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+", help_text="Leave empty for the encounter's provider.")
    item = models.OneToOneField("ledger.OpenItem", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="service_line")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["encounter", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "sequence"], name="billing_service_sequence_unique"),
            models.CheckConstraint(condition=models.Q(units__gte=1), name="billing_service_units_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="billing_service_price_not_negative"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="billing_service_amount_not_negative"),
        ]

    def __str__(self) -> str:
        mods = f"-{self.modifiers}" if self.modifiers else ""
        return f"{self.procedure_code}{mods} × {self.units}"

    @property
    def modifier_list(self) -> list[str]:
        return [m for m in self.modifiers.split(",") if m]

    @property
    def pointer_list(self) -> list[int]:
        return [int(p) for p in self.diagnosis_pointers.split(",") if p]

    def clean(self) -> None:
        if len(self.modifier_list) > MAX_MODIFIERS:
            raise ValidationError({"modifiers": f"At most {MAX_MODIFIERS} modifiers."})
        try:
            pointers = self.pointer_list
        except ValueError:
            raise ValidationError({"diagnosis_pointers": "Pointers are diagnosis numbers, e.g. 1,2."}) from None
        if not pointers:
            raise ValidationError({"diagnosis_pointers": "Point the service at one or more diagnoses."})
        if len(pointers) > MAX_POINTERS or len(set(pointers)) != len(pointers):
            raise ValidationError({"diagnosis_pointers": f"Up to {MAX_POINTERS} different diagnoses."})


class EncounterSupply(models.Model):
    """A supply used for one of the encounter's services (a vaccine dose of a lot, a splint), in the item's unit.
    It names its service by number, as diagnosis pointers do, since coding replaces the service rows. Posting the
    encounter takes it from the stock location's shelf for the patient; voiding puts it back."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="supplies")
    sequence = models.PositiveSmallIntegerField()
    line = models.PositiveSmallIntegerField(help_text="The number of the service it was used for.")
    item = models.ForeignKey("inventory.Item", on_delete=models.PROTECT, related_name="+")
    stock_location = models.ForeignKey("inventory.StockLocation", on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey("inventory.Lot", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                            help_text="Empty: the first-expiring lots on the shelf when posted.")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["encounter", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "sequence"], name="billing_supply_sequence_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="billing_supply_quantity_positive"),
            models.CheckConstraint(condition=models.Q(line__gte=1), name="billing_supply_line_positive"),
        ]

    def __str__(self) -> str:
        lot = f" lot {self.lot.number}" if self.lot_id and self.lot.number else ""
        return f"{self.quantity.normalize():f} {self.item.base_unit} {self.item.name}{lot}"


class SuperbillTemplate(models.Model):
    """A specialty's short list of services and diagnoses, so coding a visit is a few clicks.

    `sections`: [{"title": "Office visits", "services": [{"code": "99213", "modifiers": "", "label": "..."}]}];
    `diagnoses`: [{"code": "E11.9", "label": "..."}]."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    specialty = models.CharField(max_length=80, blank=True)
    sections = models.JSONField(default=list, blank=True)
    diagnoses = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="billing_superbill_name_unique")]

    def __str__(self) -> str:
        return self.name
