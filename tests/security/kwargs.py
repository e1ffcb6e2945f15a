"""URL kwargs filled by name from the fixtures (see conftest.World), for the matrix and the CSRF and XSS tests."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .conftest import World
from .urlwalk import Route

# Kwargs naming a record of one practice: filled from the own or the other practice.
OBJECT_KWARGS = {"public_id", "patient_id", "patient_public_id", "document_id", "document_public_id",
                 "contact_id", "alert_id", "user_id", "token_id"}
# Online booking requests and calendar feeds (scheduling), made on first use (see _scheduling_online below).
OBJECT_KWARGS |= {"online_request_id", "feed_id"}
# The front desk's queues (scheduling): calls, waitlist entries and offers, recalls and their rules.
OBJECT_KWARGS |= {"call_id", "entry_id", "offer_id", "recall_id", "rule_id"}
# Appointments (scheduling): the calendar's move, the flow board, check-in and check-out, the appointment pages.
OBJECT_KWARGS |= {"appointment_id"}
# Schedule setup (scheduling): appointment types, availability templates, exceptions, location settings, and the
# provider whose day the API shows.
OBJECT_KWARGS |= {"type_id", "template_id", "exception_id", "location_id", "provider_id"}
# Staff tasks (communications): one open task about the practice's patient.
OBJECT_KWARGS |= {"task_id"}
# Campaigns (communications).
OBJECT_KWARGS |= {"campaign_id"}
# Templates and letters (communications): message templates, letters, letterheads and signatures.
OBJECT_KWARGS |= {"message_template_id", "letter_id", "letterhead_id", "signature_id"}
# The outbox (communications delivery): one message of the practice's patient, by its public id; under an
# attachment's address, an e-mail to the patient with one attachment.
OBJECT_KWARGS |= {"message_id", "attachment_id"}
# Fee schedules (billing).
OBJECT_KWARGS |= {"fee_schedule_id"}
# The ledger: an account of the practice's chart and a posted entry (a charge to the practice's patient).
OBJECT_KWARGS |= {"account_id", "journal_entry_id"}
# The bank (ledger): the practice's operating bank account, with an imported statement line.
OBJECT_KWARGS |= {"bank_account_id"}
# Vendors (ledger): one vendor of the practice, named after its marker patient.
OBJECT_KWARGS |= {"vendor_id"}
# Statements (billing): a finished statement run with one printed statement of the practice's patient, the
# statement (by its public id) and the patient's account (by its public id).
OBJECT_KWARGS |= {"statement_run_id", "statement_id", "account_public_id"}
# Patient accounts and payments (billing): the patient's account, a charge on it, a payment and a payment plan.
OBJECT_KWARGS |= {"payment_id", "item_id", "plan_id"}
# Day close (billing): one counted and closed day of the practice's drawer, waiting for approval.
OBJECT_KWARGS |= {"close_id"}
# Card payouts (billing): one payout of the practice with an exception, waiting for a manager.
OBJECT_KWARGS |= {"card_payout_id"}
# Remittances (insurance): an imported 835 with one claim payment waiting in exceptions.
OBJECT_KWARGS |= {"remittance_id", "remittance_claim_id"}
# Encounters (by public id) and superbill templates (billing charges).
OBJECT_KWARGS |= {"encounter_id", "superbill_id"}
# Insurance coverage: a clearinghouse, a payer and its plan, the practice patient's coverage and an authorisation.
OBJECT_KWARGS |= {"clearinghouse_id", "payer_id", "insurance_plan_id", "coverage_id", "authorization_id"}
# Claims (insurance): a draft claim of the practice's patient, by its public id.
OBJECT_KWARGS |= {"claim_id"}
# Payer contracts and reference schedules (insurance contracts).
OBJECT_KWARGS |= {"contract_id", "reference_schedule_id"}
# Eligibility answers and claim batches (insurance).
OBJECT_KWARGS |= {"check_id", "batch_id"}
# Payer rules (insurance claims): one rule for the practice's payer.
OBJECT_KWARGS |= {"payer_rule_id"}
# Rosters (rostering): a draft roster with a solver run, a time-off request, a swap of a published roster, a shift
# type and a coverage need.
OBJECT_KWARGS |= {"period_id", "run_id", "request_id", "change_id", "shift_type_id", "need_id"}
# Staff: a staff record with a credential (and its scan), a course, an assignment and an onboarding task; "my"
# kwargs are the signed-in person's own (a staff record made for the matrix's user).
OBJECT_KWARGS |= {"staff_id", "credential_id", "staff_document_id", "course_id", "assignment_id",
                  "onboarding_task_id", "my_assignment_id", "my_document_id"}
# Goals: an objective of a department the signed-in person owns (so the owner's edit pages open), with a key result
# (each walk gets its own: one route removes it).
OBJECT_KWARGS |= {"objective_id", "key_result_id"}
# Supplies (inventory): an item with a lot on hand in a stock location of the practice, and a purchase order of it
# awaiting approval.
OBJECT_KWARGS |= {"stock_item_id", "stock_location_id", "purchase_order_id"}

# Office technology (inventory.assets): an asset of the practice with a maintenance schedule and an open ticket.
OBJECT_KWARGS |= {"asset_id", "ticket_id"}

# The FHIR API (/fhir/R4/[type]/[id]: the practice's patient) and the administrator's FHIR token page (a token of
# the practice's user).
OBJECT_KWARGS |= {"resource_id", "fhir_token_id"}


class UnfillableKwarg(Exception):
    pass


def fill(route: Route, name: str, practice, world: World, principal) -> object:
    """A value for URL kwarg `name` taken from `practice` (own or other)."""
    if name == "public_id":
        before = route.regex.split("(?P<public_id>")[0]
        return (practice.document if before.endswith("documents/") else practice.patient).public_id
    if name in ("patient_id", "patient_public_id"):
        return practice.patient.public_id
    if name in ("document_id", "document_public_id"):
        return practice.document.public_id
    if name == "contact_id":
        return practice.contact.pk
    if name == "alert_id":
        return practice.alert.pk
    if name == "user_id":
        return practice.target_user.pk
    if name == "token_id":
        if practice is world.own and principal is not None:
            return world.own_token_of(principal).pk
        return practice.token.pk
    # The admin's own patterns (superusers only) and allauth's e-mailed keys: any well-formed value.
    if name == "content_type_id":
        return ContentType.objects.get_for_model(type(practice.patient)).pk
    if name == "object_id":
        return practice.patient.pk
    if name == "app_label":
        return "auth"
    if name == "url":
        return "no-such-page/"
    if name == "key":
        return "not-a-real-key"
    if name == "uidb36":
        return "0"
    # Online booking (public pages by location slug, e-mailed tokens) and the office's queue; calendar feeds.
    if name == "location_slug":
        return _scheduling_online(practice)["slug"]
    if name == "token":
        return "not-a-real-token"
    if name == "online_request_id":
        return _scheduling_online(practice)["online_request"].pk
    if name == "feed_id":
        return _scheduling_online(practice)["feed"].pk
    # The front desk's queues; the public offer reply takes the own practice's offer token.
    if name in ("call_id", "entry_id", "offer_id", "recall_id", "rule_id"):
        return _scheduling_front_desk(practice)[name]
    if name == "offer_token":
        return _scheduling_front_desk(world.own)["offer_token"]
    if name == "appointment_id":
        return _scheduling_appointment(practice).public_id
    if name in ("type_id", "template_id", "exception_id", "location_id", "provider_id"):
        return _scheduling_setup(practice)[name]
    if name == "task_id":
        return _communications_task(practice).pk
    # Templates and letters; a version number is only meaningful under its template.
    if name in ("message_template_id", "letter_id", "letterhead_id", "signature_id"):
        return _communications_letters(practice)[name]
    if name == "version_number":
        return 1
    if name == "campaign_id":
        return _communications_campaign(practice).pk
    if name == "message_id" and "attachments/" in route.regex:
        return _delivery_attachment(practice).message.public_id
    if name == "message_id":
        return _delivery_message(practice).public_id
    if name == "attachment_id":
        return _delivery_attachment(practice).pk
    if name == "fee_schedule_id":
        return _billing_fee_schedule(practice).pk
    if name in ("account_id", "journal_entry_id"):
        return _ledger(practice)[name]
    if name == "bank_account_id":
        return _ledger_bank(practice).pk
    # Patient accounts and payments (billing).
    if name in ("payment_id", "item_id", "plan_id"):
        return _billing_payments(practice)[name]
    if name == "encounter_id":
        return _billing_encounter(practice, world).public_id
    if name == "superbill_id":
        return _billing_superbill(practice).pk
    if name in ("clearinghouse_id", "payer_id", "insurance_plan_id", "coverage_id", "authorization_id"):
        return _insurance_coverage(practice)[name]
    if name == "claim_id":
        return _insurance_claim(practice, world).public_id
    if name == "payer_rule_id":
        return _insurance_payer_rule(practice).pk
    # The local SMS gateway's provider API: the configured account, a message id it does not hold.
    if name == "account_sid":
        from django.conf import settings

        return settings.SMS_ACCOUNT_SID
    if name == "message_sid":
        return "SM" + "0" * 32
    # The local card processor's API: ids it does not hold.
    if name == "intent_id":
        return "pi_" + "0" * 24
    if name == "refund_id":
        return "re_" + "0" * 24
    if name == "pm_id":
        return "pm_" + "0" * 24
    if name == "processor_payout_id":
        return "po_" + "0" * 24
    # Statements (billing).
    if name in ("statement_run_id", "statement_id", "account_public_id"):
        return _billing_statements(practice)[name]
    # Day close (billing).
    if name == "close_id":
        return _billing_day_close(practice).public_id
    if name == "card_payout_id":
        return _billing_card_payout(practice).public_id
    # Payer contracts (insurance).
    if name in ("contract_id", "reference_schedule_id"):
        return _insurance_contracts(practice)[name]
    if name in ("check_id", "batch_id"):
        return _insurance_eligibility(practice)[name]
    # Remittances (insurance).
    if name in ("remittance_id", "remittance_claim_id"):
        return _insurance_remittance(practice)[name]
    # Rosters (rostering).
    if name in ("period_id", "run_id", "request_id", "change_id", "shift_type_id", "need_id"):
        from clinicdesk.rostering.tests.factories import security_rosters

        return security_rosters(practice)[name]
    if name == "credential_id":
        # The credential API removes it (DELETE): each principal's walk gets a credential of its own.
        from datetime import date

        from clinicdesk.staff.models import Credential

        member_id = _staff_records(practice)["staff_id"]
        return Credential.objects.create(organization=practice.org, staff_id=member_id, kind="cpr_bls",
                                         name=f"{practice.patient.last_name} BLS", expires_on=date(2030, 1, 1)).pk
    if name in ("staff_id", "staff_document_id", "course_id", "assignment_id", "onboarding_task_id"):
        return _staff_records(practice)[name]
    if name in ("my_assignment_id", "my_document_id"):
        owner = principal if practice is world.own and principal is not None else None
        return _staff_records(practice, user=owner)[name.replace("my_", "staff_" if "document" in name else "")]
    if name in ("objective_id", "key_result_id"):
        owner = principal if practice is world.own and principal is not None else None
        return _goals(practice, owner)[name]
    if name == "kpi_code":
        return "no_show_rate"
    if name in ("stock_item_id", "stock_location_id", "purchase_order_id"):
        from clinicdesk.inventory.tests.factories import security_stock

        return security_stock(practice)[name]
    if name in ("asset_id", "ticket_id"):
        return _assets(practice)[name]
    if name == "vendor_id":
        from clinicdesk.ledger.bills import vendor_for

        return vendor_for(organization=practice.org, name=f"{practice.patient.last_name} vendor").pk
    if name == "resource_type":
        return "Patient"
    if name == "resource_id":
        return practice.patient.public_id
    if name == "fhir_token_id":
        return _fhir_token(practice)
    # The FHIR API's $export jobs and their files: any well-formed value (only a bearer token opens them).
    if name == "export_id":
        return "00000000-0000-4000-8000-000000000000"
    if name == "file_name":
        return "Patient.ndjson"
    raise UnfillableKwarg(name)


def _fhir_token(practice) -> int:
    """A FHIR token of the practice's target user, made once per practice."""
    made = getattr(practice, "_fhir_token", None)
    if made is None:
        from clinicdesk.fhir.services import fhir_token_create

        token, _ = fhir_token_create(actor=None, user=practice.target_user, name="matrix", scopes=["user/*.read"], days=30)
        made = practice._fhir_token = token.pk
    return made


def _assets(practice) -> dict:
    """An asset of the practice (named after the marker patient) with a calibration schedule and an open ticket,
    made once per practice."""
    made = getattr(practice, "_assets", None)
    if made is not None:
        return made
    from datetime import date

    from clinicdesk.inventory.assets.models import Asset, MaintenanceSchedule, ServiceTicket

    marker = practice.patient.last_name
    asset = Asset.objects.create(organization=practice.org, tag=f"T-{practice.org.pk}", name=f"{marker} ECG",
                                 kind="medical_device")
    MaintenanceSchedule.objects.create(organization=practice.org, asset=asset, name=f"{marker} calibration",
                                       interval_count=12, starts_on=date(2026, 1, 1), next_due_on=date(2026, 1, 1))
    ticket = ServiceTicket.objects.create(organization=practice.org, asset=asset, title=f"{marker} leads worn")
    made = {"asset_id": asset.pk, "ticket_id": ticket.pk}
    practice._assets = made
    return made


def _goals(practice, owner) -> dict:
    """A department (owned by `owner` when given), an objective of it this quarter and one key result."""
    from django.utils import timezone

    from clinicdesk.core.tests.factories import DepartmentFactory
    from clinicdesk.goals.choices import Direction, PeriodKind
    from clinicdesk.goals.models import KeyResult, Objective

    org, marker = practice.org, practice.patient.last_name
    department = DepartmentFactory(organization=org, name=f"{marker} goals", owner=owner)
    today = timezone.localdate()
    objective = Objective.objects.create(organization=org, department=department, owner=owner or practice.target_user,
                                         title=f"{marker} fewer no-shows", period_kind=PeriodKind.CUSTOM,
                                         start=today.replace(day=1), end=today.replace(day=28))
    key_result = KeyResult.objects.create(organization=org, objective=objective, kpi_code="no_show_rate",
                                          direction=Direction.AT_MOST, baseline=10, target=5)
    return {"objective_id": objective.pk, "key_result_id": key_result.pk}


def _staff_records(practice, *, user=None) -> dict:
    """A staff member of the practice (the given user's own record when a user is given) with a credential and its
    scan, a course assignment and an onboarding task, named after the marker patient; made once per owner."""
    cache = practice.__dict__.setdefault("_staff_records", {})
    key = user.pk if user is not None else None
    if key in cache:
        return cache[key]
    from datetime import date

    from django.core.files.base import ContentFile

    from clinicdesk.staff.models import (
        ChecklistTemplate,
        Course,
        Credential,
        OnboardingPlan,
        OnboardingTask,
        StaffDocument,
        StaffMember,
        TrainingAssignment,
    )

    org, marker = practice.org, practice.patient.last_name
    member = StaffMember.objects.create(organization=org, first_name="Staff", last_name=marker, user=user,
                                        email=f"{marker.lower()}-{key}@staff.example")
    document = StaffDocument(organization=org, staff=member, title=f"{marker} licence", original_name="licence.png",
                             content_type="image/png", size=8, sha256="0" * 64)
    document.file.save("licence.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    credential = Credential.objects.create(organization=org, staff=member, kind="cpr_bls", name=f"{marker} BLS",
                                           expires_on=date(2030, 1, 1), document=document)
    course = Course.objects.filter(organization=org, code="matrix").first() or Course.objects.create(
        organization=org, code="matrix", name=f"{marker} course")
    assignment = TrainingAssignment.objects.create(organization=org, staff=member, course=course,
                                                   due_date=date(2030, 1, 1))
    template, _ = ChecklistTemplate.objects.get_or_create(organization=org, name=f"{marker} checklist")
    plan = OnboardingPlan.objects.create(organization=org, staff=member, template=template, start_date=date(2030, 1, 1))
    task = OnboardingTask.objects.create(plan=plan, title=f"{marker} badge", due_date=date(2030, 1, 1))
    cache[key] = {"staff_id": member.pk, "credential_id": credential.pk, "staff_document_id": document.pk,
                  "course_id": course.pk, "assignment_id": assignment.pk, "onboarding_task_id": task.pk}
    return cache[key]


def _insurance_eligibility(practice) -> dict:
    """An eligibility check of the practice's patient and a built claim batch, made once per practice."""
    made = getattr(practice, "_insurance_eligibility", None)
    if made is not None:
        return made
    from datetime import date

    from clinicdesk.insurance.models import ClaimBatch, Coverage, EligibilityCheck

    org = practice.org
    # The practice's one coverage and clearinghouse (a second active primary coverage would be refused).
    coverage = Coverage.objects.select_related("payer").get(public_id=_insurance_coverage(practice)["coverage_id"])
    house = coverage.payer.clearinghouse
    check = EligibilityCheck.objects.create(organization=org, coverage=coverage, service_date=date(2026, 12, 1),
                                            trace_number="T1", status="active")
    batch = ClaimBatch.objects.create(organization=org, clearinghouse=house, interchange_control_number=1,
                                      group_control_number=1, file_name="837P-000000001.x12", content="ISA~")
    made = {"check_id": check.pk, "batch_id": batch.pk}
    practice._insurance_eligibility = made
    return made


def _insurance_remittance(practice) -> dict:
    """A remittance of the practice whose one claim payment (named after the marker patient) waits in exceptions."""
    made = getattr(practice, "_insurance_remittance", None)
    if made is None:
        from decimal import Decimal

        from clinicdesk.insurance.models import Remittance, RemittanceClaim

        remittance = Remittance.objects.create(organization=practice.org, payer_name="Acme Health", check_number=f"CHK{practice.org.pk}",
                                               total_paid=Decimal("10.00"), sha256=f"{practice.org.pk:064d}")
        claim = RemittanceClaim.objects.create(remittance=remittance, claim_number="UNKNOWN1", status_code="1",
                                               charge=Decimal("20.00"), paid=Decimal("10.00"), state="exception",
                                               patient_name=practice.patient.last_name, exception_reason="unknown claim")
        made = practice._insurance_remittance = {"remittance_id": remittance.pk, "remittance_claim_id": claim.pk}
    return made


def _scheduling_online(practice) -> dict:
    """A location with online booking on, a provider with a calendar feed and a request waiting for approval,
    made once per practice."""
    made = getattr(practice, "_scheduling_online", None)
    if made is not None:
        return made
    from datetime import date, timedelta

    from django.utils import timezone

    from clinicdesk.core.tests.factories import LocationFactory
    from clinicdesk.scheduling.choices import OnlineRequestStatus
    from clinicdesk.scheduling.models import OnlineBookingRequest
    from clinicdesk.scheduling.services.feeds import calendar_feed_create
    from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory, LocationScheduleFactory, ProviderFactory

    org = practice.org
    slug = f"book-{org.slug}"
    location = LocationFactory(organization=org, name=f"{org.name} online", code=f"online-{org.pk}")
    LocationScheduleFactory(location=location, online_booking_enabled=True, online_booking_slug=slug)
    provider = ProviderFactory(organization=org, username=f"online-provider-{org.pk}")
    kind = AppointmentTypeFactory(organization=org, code=f"online-{org.pk}", bookable_online=True)
    starts_at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    online_request = OnlineBookingRequest.objects.create(
        organization=org, location=location, appointment_type=kind, provider=provider, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=15), first_name="Online", last_name=practice.patient.last_name,
        date_of_birth=date(1980, 1, 1), email=f"online-{org.pk}@example.com",
        verify_token_hash=f"{org.pk:064d}", status=OnlineRequestStatus.PENDING_APPROVAL, expires_at=starts_at,
    )
    feed, _ = calendar_feed_create(actor=provider, provider=provider)
    made = {"slug": slug, "online_request": online_request, "feed": feed}
    practice._scheduling_online = made
    return made


def _scheduling_front_desk(practice) -> dict:
    """A call with a callback, a waitlist entry with a pending offer, a recall rule and a recall, on the
    practice's patient, made once per practice."""
    made = getattr(practice, "_scheduling_front_desk", None)
    if made is not None:
        return made
    from datetime import date, timedelta

    from django.utils import timezone

    from clinicdesk.core.tests.factories import LocationFactory
    from clinicdesk.scheduling.models import PhoneCall, Recall, RecallRule, WaitlistEntry, WaitlistOffer
    from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory, ProviderFactory

    org, patient = practice.org, practice.patient
    kind = AppointmentTypeFactory(organization=org, code=f"desk-{org.pk}")
    location = LocationFactory(organization=org, code=f"desk-{org.pk}")
    provider = ProviderFactory(organization=org, username=f"desk-provider-{org.pk}")
    call = PhoneCall.objects.create(organization=org, patient=patient, notes=f"Call about {patient.last_name}",
                                    callback_needed=True, callback_due=timezone.now() + timedelta(hours=2),
                                    taken_by=practice.target_user, assigned_to=practice.target_user)
    entry = WaitlistEntry.objects.create(organization=org, patient=patient, appointment_type=kind,
                                         notes=f"Waiting: {patient.last_name}")
    starts_at = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    offer = WaitlistOffer.objects.create(entry=entry, provider=provider, location=location, starts_at=starts_at,
                                         ends_at=starts_at + timedelta(minutes=15), token=f"desk-offer-{org.pk:032d}",
                                         expires_at=timezone.now() + timedelta(hours=2))
    rule = RecallRule.objects.create(organization=org, name=f"Annual {org.slug}", after_type=kind, recall_type=kind)
    recall = Recall.objects.create(organization=org, patient=patient, rule=rule, last_visit=date(2025, 1, 2),
                                   due_date=date(2026, 1, 2), notes=f"Recall {patient.last_name}")
    made = {"call_id": call.pk, "entry_id": entry.pk, "offer_id": offer.pk, "recall_id": recall.pk, "rule_id": rule.pk,
            "offer_token": offer.token}
    practice._scheduling_front_desk = made
    return made


def _scheduling_appointment(practice):
    """An appointment of the practice's patient tomorrow (scheduled, so every page and button applies), made once
    per practice."""
    made = getattr(practice, "_scheduling_appointment", None)
    if made is not None:
        return made
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.scheduling.tests.factories import AppointmentFactory

    starts_at = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    made = AppointmentFactory(organization=practice.org, patient=practice.patient, starts_at=starts_at,
                              notes=f"Visit of {practice.patient.last_name}")
    practice._scheduling_appointment = made
    return made


def _scheduling_setup(practice) -> dict:
    """An appointment type, a provider's usual week at a location with its settings, and a sick day (with a
    patient's visit inside it), made once per practice."""
    made = getattr(practice, "_scheduling_setup", None)
    if made is not None:
        return made
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.scheduling.tests.factories import (
        AppointmentFactory,
        AppointmentTypeFactory,
        AvailabilityTemplateFactory,
        LocationScheduleFactory,
        ProviderFactory,
        ScheduleExceptionFactory,
    )

    org = practice.org
    provider = ProviderFactory(organization=org, username=f"setup-provider-{org.pk}", last_name=practice.patient.last_name)
    template = AvailabilityTemplateFactory(provider=provider, name=f"Week of {practice.patient.last_name}")
    LocationScheduleFactory(location=template.location)
    kind = AppointmentTypeFactory(organization=org, code=f"setup-{org.pk}", name=f"Visit {practice.patient.last_name}")
    day = (timezone.now() + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    exception = ScheduleExceptionFactory(provider=provider, starts_at=day, ends_at=day + timedelta(days=1),
                                         reason=f"Away {practice.patient.last_name}")
    AppointmentFactory(organization=org, provider=provider, location=template.location, patient=practice.patient,
                       appointment_type=kind, starts_at=day + timedelta(hours=14))
    made = {"type_id": kind.pk, "template_id": template.pk, "exception_id": exception.pk,
            "location_id": template.location_id, "provider_id": provider.pk}
    practice._scheduling_setup = made
    return made


def _communications_task(practice):
    """An open front-desk task about the practice's patient, made once per practice."""
    made = getattr(practice, "_communications_task", None)
    if made is not None:
        return made
    from clinicdesk.communications.choices import StaffTaskKind
    from clinicdesk.communications.models import StaffTask
    from clinicdesk.core.choices import Role

    made = StaffTask.objects.create(organization=practice.org, title=f"Call {practice.patient.last_name}",
                                    kind=StaffTaskKind.CALL, assignee_role=Role.FRONT_DESK, patient=practice.patient,
                                    details=f"About {practice.patient.last_name}")
    practice._communications_task = made
    return made


def _billing_fee_schedule(practice):
    """A fee schedule of the practice, named after its marker patient, made once per practice."""
    made = getattr(practice, "_billing_fee_schedule", None)
    if made is None:
        from clinicdesk.billing.models import FeeSchedule

        made = FeeSchedule.objects.create(organization=practice.org, name=f"{practice.patient.last_name} fees",
                                          is_default=True)
        practice._billing_fee_schedule = made
    return made


def _insurance_contracts(practice) -> dict:
    """A payer of the practice with a contract and a reference schedule named after its marker patient, made once
    per practice."""
    made = getattr(practice, "_insurance_contracts", None)
    if made is None:
        from datetime import date

        from clinicdesk.insurance.models import Payer, PayerContract, ReferenceSchedule

        marker = practice.patient.last_name
        payer = Payer.objects.create(organization=practice.org, name=f"{marker} Health",
                                     payer_identifier=f"SEC{practice.org.pk}")
        schedule = ReferenceSchedule.objects.create(organization=practice.org, name=f"{marker} reference",
                                                    effective_from=date(2026, 1, 1))
        contract = PayerContract.objects.create(organization=practice.org, payer=payer, name=f"{marker} contract",
                                                effective_from=date(2026, 1, 1))
        made = {"contract_id": contract.pk, "reference_schedule_id": schedule.pk}
        practice._insurance_contracts = made
    return made


def _billing_encounter(practice, world):
    """A draft encounter of the practice's patient; in the own practice the matrix's clinician rendered it (a
    clinician opens only their own visits), made once per practice."""
    made = getattr(practice, "_billing_encounter", None)
    if made is not None:
        return made
    from django.utils import timezone

    from clinicdesk.billing.models import Encounter
    from clinicdesk.core.choices import Role
    from clinicdesk.core.tests.factories import LocationFactory
    from clinicdesk.scheduling.tests.factories import ProviderFactory

    org = practice.org
    users = getattr(world, "users", {}) if practice is world.own else {}
    provider = users.get(Role.CLINICIAN) or ProviderFactory(organization=org, username=f"enc-provider-{org.pk}")
    made = Encounter.objects.create(organization=org, patient=practice.patient, provider=provider,
                                    location=LocationFactory(organization=org, code=f"enc-{org.pk}"),
                                    service_date=timezone.localdate())
    practice._billing_encounter = made
    return made


def _billing_superbill(practice):
    """A superbill template of the practice, named after its marker patient, made once per practice."""
    made = getattr(practice, "_billing_superbill", None)
    if made is None:
        from clinicdesk.billing.models import SuperbillTemplate

        made = SuperbillTemplate.objects.create(organization=practice.org, name=f"{practice.patient.last_name} superbill",
                                                diagnoses=[{"code": "I10", "label": "Hypertension"}])
        practice._billing_superbill = made
    return made


def _communications_campaign(practice):
    """A draft e-mail campaign of the practice, made once per practice."""
    made = getattr(practice, "_communications_campaign", None)
    if made is not None:
        return made
    from clinicdesk.communications.models import Campaign
    from clinicdesk.communications.tests.factories_letters import make_template

    template = make_template(practice.org, code=f"campaign-{practice.org.pk}", kind="email",
                             body="Hello {{ patient.first_name }}. {{ links.unsubscribe_url }}")
    made = Campaign.objects.create(organization=practice.org, name=f"{practice.patient.last_name} campaign",
                                   channel="email", template=template)
    practice._communications_campaign = made
    return made


def _communications_letters(practice) -> dict:
    """A letter template, a draft letter to the practice's patient, a letterhead and a signature, made once per
    practice."""
    made = getattr(practice, "_communications_letters", None)
    if made is not None:
        return made
    from clinicdesk.communications.services.letters import letter_start
    from clinicdesk.communications.tests.factories_letters import LetterheadFactory, SignatureFactory, make_template

    org = practice.org
    template = make_template(org, code=f"letter-{org.pk}")
    letter = letter_start(actor=practice.target_user, patient=practice.patient, template=template)
    letterhead = LetterheadFactory(organization=org, practice_name=f"{org.name} letterhead")
    signature = SignatureFactory(user=practice.target_user, name_line=f"{practice.target_user.last_name}, MD")
    made = {"message_template_id": template.pk, "letter_id": letter.public_id, "letterhead_id": letterhead.pk,
            "signature_id": signature.pk}
    practice._communications_letters = made
    return made


def _delivery_message(practice):
    """A failed text to the practice's patient (so 'send again' applies), made once per practice."""
    made = getattr(practice, "_delivery_message", None)
    if made is not None:
        return made
    from clinicdesk.communications.choices import MessageChannel, MessageState
    from clinicdesk.communications.models import Message

    made = Message.objects.create(
        organization=practice.org, patient=practice.patient, channel=MessageChannel.SMS, state=MessageState.FAILED,
        to_address="+12025550188", body=f"Reminder for {practice.patient.last_name}", reason="Unreachable handset.",
        idempotency_key=f"security:{practice.org.pk}",
    )
    practice._delivery_message = made
    return made


def _delivery_attachment(practice):
    """An e-mail to the practice's patient with one PDF attached, queued through the outbox, made once per practice."""
    made = getattr(practice, "_delivery_attachment", None)
    if made is not None:
        return made
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.communications.choices import MessageChannel
    from clinicdesk.communications.services.outbox import message_queue

    message = message_queue(
        organization=practice.org, patient=practice.patient, channel=MessageChannel.EMAIL,
        to_address="patient@example.com", subject="Your letter", body=f"A letter for {practice.patient.last_name}",
        idempotency_key=f"security-attachment:{practice.org.pk}", send_after=timezone.now() + timedelta(days=30),
        attachments=[(f"letter-{practice.patient.last_name}.pdf", "application/pdf", b"%PDF-1.4 security")])
    made = practice._delivery_attachment = message.attachments.get()
    return made


def _billing_statements(practice) -> dict:
    """A finished statement run of the practice with one statement to print (the patient owes for a visit five
    days ago), made once per practice."""
    made = getattr(practice, "_billing_statements", None)
    if made is not None:
        return made
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from clinicdesk.billing.models import Statement
    from clinicdesk.billing.services.accounts import account_for_patient
    from clinicdesk.billing.services.statements import statement_run_create, statement_run_execute, statement_run_start
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

    org, patient, today = practice.org, practice.patient, timezone.localdate()
    account = account_for_patient(patient=patient)
    account.address_line1, account.city, account.postal_code = "1 Main Street", "Springfield", "62701"
    account.save(update_fields=["address_line1", "city", "postal_code"])
    item = open_item_create(organization=org, patient=patient, service_date=today - timedelta(days=5),
                            description=f"Visit of {patient.last_name}")
    entry_post(organization=org, entry_date=today - timedelta(days=5), kind=EntryKind.CHARGE, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("75.00"), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=Decimal("-75.00"), patient=patient)])
    run = statement_run_create(actor=practice.target_user, organization=org, statement_date=today)
    statement_run_start(actor=practice.target_user, run=run)
    statement_run_execute(run_id=run.pk)
    statement = Statement.objects.get(run=run)
    made = {"statement_run_id": run.pk, "statement_id": statement.public_id, "account_public_id": account.public_id}
    practice._billing_statements = made
    return made


def _billing_payments(practice) -> dict:
    """The practice's patient's account with a charge of 100.00, a cash payment of 40.00 and a payment plan for
    the rest, made once per practice."""
    made = getattr(practice, "_billing_payments", None)
    if made is not None:
        return made
    from datetime import date, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from clinicdesk.billing.services.accounts import account_for_patient
    from clinicdesk.billing.services.payments import payment_post
    from clinicdesk.billing.services.plans import payment_plan_create
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

    patient = practice.patient
    item = open_item_create(organization=practice.org, patient=patient, service_date=date(2026, 9, 1),
                            description="Office visit")
    entry_post(organization=practice.org, entry_date=date(2026, 9, 1), kind=EntryKind.CHARGE, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("100.00"), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=Decimal("-100.00"), patient=patient)])
    account = account_for_patient(patient=patient)
    payment = payment_post(account=account, amount="40.00", method="cash", idempotency_key="security", actor=None)
    plan = payment_plan_create(account=account, total="60.00", installments=3, frequency="monthly",
                               start_date=timezone.localdate() + timedelta(days=10), actor=None)
    made = {"account_public_id": account.public_id, "payment_id": payment.public_id, "item_id": item.pk, "plan_id": plan.pk}
    practice._billing_payments = made
    return made


def _billing_day_close(practice):
    """A drawer at a location of the practice and yesterday closed on it a dollar over (waiting for approval),
    made once per practice."""
    made = getattr(practice, "_billing_day_close", None)
    if made is not None:
        return made
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.billing.services.dayclose import day_close_close, drawer_save
    from clinicdesk.core.tests.factories import LocationFactory

    location = LocationFactory(organization=practice.org, code=f"drawer-{practice.org.pk}")
    drawer = drawer_save(location=location, opening_float="0.00", actor=None)
    made = day_close_close(drawer=drawer, business_date=timezone.localdate() - timedelta(days=1), actor=None,
                           denominations={"1": 1}, over_short_reason=f"Found a dollar ({practice.patient.last_name})")
    practice._billing_day_close = made
    return made


def _billing_card_payout(practice):
    """A payout of one charge the practice's books do not know (an exception), made once per practice."""
    made = getattr(practice, "_billing_card_payout", None)
    if made is not None:
        return made
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from clinicdesk.billing.cards import CardBalanceLine, CardPayout
    from clinicdesk.billing.services.payouts import payout_record

    line = CardBalanceLine(id=f"txn_sec_{practice.org.pk}", type="charge", amount=Decimal("20.00"),
                           fee=Decimal("0.88"), net=Decimal("19.12"), source_id="ch_sec", payment_intent_id="pi_sec",
                           created=datetime(2026, 11, 2, 15, tzinfo=UTC))
    made = payout_record(organization=practice.org, lines=[line], payout=CardPayout(
        id=f"po_sec_{practice.org.pk}", amount=Decimal("19.12"), arrival_date=date(2026, 11, 3), status="paid"))
    practice._billing_card_payout = made
    return made


def sides(route: Route) -> list[str]:
    objects = [k for k in route.kwarg_names if k in OBJECT_KWARGS]
    if not objects:
        return ["own"]
    return ["own", "other", "mixed"] if len(objects) > 1 else ["own", "other"]


def build_url(route: Route, side: str, world: World, principal) -> str:
    kwargs = {}
    first_object = True
    for name in route.kwarg_names:
        if name in OBJECT_KWARGS:
            practice = world.own if side == "own" or (side == "mixed" and first_object) else world.other
            first_object = False
        else:
            practice = world.own
        kwargs[name] = fill(route, name, practice, world, principal)
    return route.url(kwargs)


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _ledger(practice) -> dict:
    """The practice's chart and one charge to its patient (its memo names the patient), made once per practice."""
    made = getattr(practice, "_ledger", None)
    if made is not None:
        return made
    from datetime import date
    from decimal import Decimal

    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

    item = open_item_create(organization=practice.org, patient=practice.patient, service_date=date(2026, 11, 2),
                            description=f"Visit of {practice.patient.last_name}")
    entry = entry_post(organization=practice.org, entry_date=date(2026, 11, 2), kind=EntryKind.CHARGE,
                       memo=f"Charge {practice.patient.last_name}", lines=[
                           LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("50.00"), item=item),
                           LineSpec(account=AccountRole.SERVICE_REVENUE, amount=Decimal("-50.00")),
                       ])
    made = {"account_id": entry.lines.get(item=item).account_id, "journal_entry_id": entry.pk}
    practice._ledger = made
    return made


def _ledger_bank(practice):
    """The practice's operating bank account with one statement line (its description names the practice's
    patient), made once per practice."""
    made = getattr(practice, "_ledger_bank", None)
    if made is not None:
        return made
    from datetime import date
    from decimal import Decimal

    from clinicdesk.ledger.bank import statement_lines_auto_match
    from clinicdesk.ledger.bank_import import ParsedLine, statement_import
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.models import BankAccount
    from clinicdesk.ledger.reconcile import reconciliation_finish
    from clinicdesk.ledger.services import LineSpec, account_for, entry_post

    made = BankAccount.objects.create(organization=practice.org, name=f"{practice.patient.last_name} operating",
                                      institution="First Valley Bank", last4="4321",
                                      account=account_for(practice.org, AccountRole.OPERATING_BANK))
    statement_import(bank_account=made, file_format="api", actor=None, lines=[ParsedLine(
        number=1, posted_on=date(2026, 11, 2), description=f"Deposit {practice.patient.last_name}",
        amount=Decimal("50.00"))])
    # matched to a deposit and reconciled, so the reconciliation report has one to print
    entry_post(organization=practice.org, entry_date=date(2026, 11, 2), kind=EntryKind.DEPOSIT,
               memo=f"Deposit {practice.patient.last_name}", lines=[
                   LineSpec(account=AccountRole.OPERATING_BANK, amount=Decimal("50.00")),
                   LineSpec(account=AccountRole.UNDEPOSITED_FUNDS, amount=Decimal("-50.00"))])
    statement_lines_auto_match(bank_account=made, actor=None)
    reconciliation_finish(bank_account=made, end_date=date(2026, 11, 2), ending_balance=Decimal("50.00"), actor=None)
    practice._ledger_bank = made
    return made


def _insurance_coverage(practice):
    """A clearinghouse, payer, plan, coverage of the practice's patient and an authorisation, made once per practice."""
    made = getattr(practice, "_insurance_coverage", None)
    if made is None:
        from datetime import date

        from clinicdesk.insurance.models import Clearinghouse, Coverage, InsurancePlan, Payer, PriorAuthorization

        house = Clearinghouse.objects.create(organization=practice.org, name=f"{practice.patient.last_name} house",
                                             submitter_id="S1", receiver_id="R1")
        payer = Payer.objects.create(organization=practice.org, name=f"{practice.patient.last_name} payer",
                                     payer_identifier=f"P{practice.org.pk}", clearinghouse=house)
        plan = InsurancePlan.objects.create(payer=payer, name=f"{practice.patient.last_name} plan")
        coverage = Coverage.objects.create(organization=practice.org, patient=practice.patient, payer=payer, plan=plan,
                                           subscriber_first_name="Test", subscriber_last_name=practice.patient.last_name,
                                           member_id=f"M{practice.org.pk}")
        auth = PriorAuthorization.objects.create(organization=practice.org, patient=practice.patient, coverage=coverage,
                                                 number=f"A{practice.org.pk}", procedure_codes="97110",
                                                 units_authorized=5, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
        made = {"clearinghouse_id": house.pk, "payer_id": payer.pk, "insurance_plan_id": plan.pk,
                "coverage_id": coverage.public_id, "authorization_id": auth.pk}
        practice._insurance_coverage = made
    return made


def _insurance_payer_rule(practice):
    """A payer rule for the practice's payer, made once per practice."""
    made = getattr(practice, "_insurance_payer_rule", None)
    if made is None:
        from clinicdesk.insurance.models import PayerRule

        made = PayerRule.objects.create(organization=practice.org, payer_id=_insurance_coverage(practice)["payer_id"],
                                        kind="forbid_code", codes="99999")
        practice._insurance_payer_rule = made
    return made


def _insurance_claim(practice, world):
    """A draft claim for the practice's encounter, to a payer the patient is covered by, made once per practice."""
    made = getattr(practice, "_insurance_claim", None)
    if made is not None:
        return made
    from decimal import Decimal

    from clinicdesk.insurance.models import Claim, Coverage, Payer

    encounter = _billing_encounter(practice, world)
    coverage = Coverage.objects.get(public_id=_insurance_coverage(practice)["coverage_id"])
    payer = Payer.objects.get(pk=coverage.payer_id)
    made = Claim.objects.create(organization=practice.org, claim_number=f"C{practice.org.pk:07d}", encounter=encounter,
                                patient=practice.patient, coverage=coverage, payer=payer, place_of_service="11",
                                service_from=encounter.service_date, service_to=encounter.service_date,
                                diagnosis_codes=["J06.9"], rendering_provider=encounter.provider,
                                total_charge=Decimal("0"))
    practice._insurance_claim = made
    return made
