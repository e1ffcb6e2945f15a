"""The practice itself: organization, locations, departments, rooms, users, API tokens and the audit trail."""

import hashlib
import json
import secrets
import zoneinfo

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import pre_save
from django.utils import timezone

from .choices import AuditChannel, AuditOutcome, Role, RoomKind

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz and not tz.startswith("Etc")]


class Organization(models.Model):
    """A practice or a group of practices: the boundary of every record and every permission."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    npi = models.CharField("group NPI", max_length=10, blank=True)
    tax_id = models.CharField("tax ID", max_length=20, blank=True)
    require_mfa = models.BooleanField(
        "require two-factor sign-in", default=False, help_text="Every staff member must set up an authenticator app."
    )
    idle_timeout_minutes = models.PositiveSmallIntegerField(default=15)
    session_max_hours = models.PositiveSmallIntegerField(default=12)
    mrn_prefix = models.CharField("MRN prefix", max_length=6, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(idle_timeout_minutes__gte=1), name="org_idle_timeout_positive"),
            models.CheckConstraint(condition=models.Q(session_max_hours__gte=1), name="org_session_max_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    """A place where the practice sees patients; its time zone is the one shown to people there."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=20)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="America/New_York")
    # {"mon": [["08:00", "17:00"]], ...}; a missing day is closed.
    opening_hours = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="location_code_unique_per_org")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
        for day, spans in (self.opening_hours or {}).items():
            if day not in days:
                raise ValidationError({"opening_hours": f"Unknown day '{day}'; use mon..sun."})
            for span in spans:
                if len(span) != 2 or span[0] >= span[1]:
                    raise ValidationError({"opening_hours": f"{day}: each span is [opens, closes] with opens first."})


class Department(models.Model):
    """A cost centre (Front Office, Billing, Nursing, Lab...): budgets, goals and ledger lines hang on it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="departments")
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=20)
    cost_center = models.CharField(max_length=20, blank=True)
    owner = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_departments"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="department_code_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    """An exam, procedure or treatment room at a location."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, choices=RoomKind.choices, default=RoomKind.EXAM)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="room_name_unique_per_location")]

    def __str__(self) -> str:
        return f"{self.location.name} · {self.name}"


class User(AbstractUser):
    """A staff member who signs in. One organization, one role; optionally limited to some locations."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    locations = models.ManyToManyField(
        Location, blank=True, related_name="users", help_text="Leave empty for every location of the organization."
    )
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=60, blank=True, help_text="Shown on letters, e.g. MD, NP, RN.")
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="The provider's own NPI, for claims.")
    taxonomy_code = models.CharField(max_length=10, blank=True, help_text="Provider taxonomy, e.g. 207Q00000X.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(organization__isnull=False) | models.Q(role=""),
                name="user_with_role_has_organization",
            )
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full}, {self.title}" if full and self.title else (full or self.username)

    def allowed_location_ids(self) -> set[int] | None:
        """The locations this user works at, or None when not limited (every location of the organization)."""
        if not hasattr(self, "_allowed_location_ids"):
            ids = set(self.locations.values_list("id", flat=True)) if self.pk else set()
            self._allowed_location_ids = ids or None
        return self._allowed_location_ids

    def may_use_location(self, location_id: int | None) -> bool:
        allowed = self.allowed_location_ids()
        return allowed is None or location_id in allowed

    def has_perm_code(self, code: str) -> bool:
        from .permissions import role_has

        return bool(self.is_active and self.organization_id and role_has(self.role, code))


class ApiToken(models.Model):
    """A personal API token: only its SHA-256 is stored; scoped, expiring and revocable."""

    PREFIX_LEN = 8

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=PREFIX_LEN, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text="Permission codes this token may use, within the user's role.")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return "cdk_" + secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now() and self.user.is_active


class AuditEventQuerySet(models.QuerySet):
    """Audit events and their seals are append-only: bulk updates and deletes are refused too."""

    def update(self, **kwargs):
        raise PermissionError("Audit rows cannot be changed.")

    def delete(self):
        raise PermissionError("Audit rows cannot be deleted.")


class AppendOnly(models.Model):
    """A row that is written once: saving it again or deleting it is refused (database triggers back this up)."""

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{self._meta.verbose_name_plural.capitalize()} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{self._meta.verbose_name_plural.capitalize()} cannot be deleted.")


class AuditEvent(AppendOnly):
    """One audited act: who did what to which record, from where, with what outcome.

    Rows are append-only (the model refuses updates and deletes, and database triggers back that up);
    moments after commit each row is sealed into the hash chain (`AuditSeal`), so `manage.py audit_verify`
    can find any row changed, removed or reordered.
    """

    GENESIS = "0" * 64

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    channel = models.CharField(max_length=10, choices=AuditChannel.choices, default=AuditChannel.PAGE)
    # The patient is kept by id and label, not by a foreign key, so the trail outlives merges.
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    patient_label = models.CharField(max_length=200, blank=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    path = models.CharField(max_length=300, blank=True)


    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_time_idx"),
            models.Index(fields=["patient_id", "-created_at"], name="audit_patient_time_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or 'system'} {self.action} {self.outcome}"

    # The columns the hash covers, and the name each has in the canonical text.
    PAYLOAD_FIELDS = (
        ("created_at", "created_at"), ("organization_id", "organization"), ("actor_id", "actor"),
        ("actor_label", "actor_label"), ("action", "action"), ("outcome", "outcome"), ("channel", "channel"),
        ("patient_id", "patient"), ("patient_label", "patient_label"), ("target_type", "target_type"),
        ("target_id", "target_id"), ("summary", "summary"), ("changes", "changes"), ("ip_address", "ip"),
        ("user_agent", "user_agent"), ("request_id", "request_id"), ("path", "path"),
    )

    def payload(self) -> str:
        """The canonical text the hash covers."""
        return self.payload_of([getattr(self, column) for column, _ in self.PAYLOAD_FIELDS])

    @classmethod
    def payload_of(cls, values) -> str:
        """The canonical text of an event's `PAYLOAD_FIELDS` values, in that order (the sealer reads rows as
        tuples, without building model instances)."""
        body = {name: value for (_, name), value in zip(cls.PAYLOAD_FIELDS, values, strict=True)}
        body["created_at"] = body["created_at"].isoformat()
        return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


class ChangeRecordManager(LogEntryManager):
    def create(self, **kwargs):
        """Build the record django-auditlog computed without storing it (the audit chain stores it)."""
        record = self.model(**kwargs)
        # django-auditlog fills in the actor and address from its request context as the row is saved.
        pre_save.send(sender=self.model, instance=record, raw=False, using=self.db, update_fields=None)
        return record


class ChangeRecord(AbstractLogEntry):
    """django-auditlog's record of one model change (`AUDITLOG_LOGENTRY_MODEL`), kept only in the audit chain.

    django-auditlog finds what changed and who changed it; `core.receivers.chain_model_change` writes it as
    an `AuditEvent` with the field changes. Storing auditlog's own row as well would write every change
    twice, in two tables, one of them outside the hash chain; so the manager builds these records and
    never saves them, and their table stays empty.
    """

    objects = ChangeRecordManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "change record"


class AuditSeal(AppendOnly):
    """One link of the audit trail's hash chain: an event, in the order it was sealed, and the hash that
    covers the event's content and the link before it.

    Sealing is separate from writing the event so that writing one is a single insert with no global lock
    (every booking writes audit rows); a sealer chains the committed events moments later
    (`clinicdesk.core.audit.audit_seal`). Rows are append-only, like the events.
    """

    GENESIS = "0" * 64

    event = models.OneToOneField(
        AuditEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="seal"
    )  # no constraint: a removed event must leave its seal behind as evidence
    sealed_at = models.DateTimeField(default=timezone.now)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)


    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"seal {self.pk} of event {self.event_id}"

    @staticmethod
    def compute_hash(prev_hash: str, event: AuditEvent) -> str:
        return AuditSeal.hash_of(prev_hash, event.pk, event.payload())

    @staticmethod
    def hash_of(prev_hash: str, event_id: int, payload: str) -> str:
        return hashlib.sha256(f"{prev_hash}{event_id}:{payload}".encode()).hexdigest()
