"""The demo practice's staff: a record for every sign-in, the 24/7 nursing unit the roster is built for
(38 nurses, all RN, eight charge nurses, mixed FTE), credentials with a few lapsed or about to lapse,
courses, and onboarding checklists. Deterministic for a given seed and day; a second run adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.npi import npi_check_digit

from .choices import AssignmentStatus, ChecklistCategory, CredentialKind, EmploymentType, StaffStatus, TaskStatus
from .identifiers import dea_check_digit
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    Course,
    Credential,
    OnboardingTask,
    Skill,
    StaffMember,
    TrainingAssignment,
)
from .services.credentials import credential_alerts_send
from .services.onboarding import checklist_apply

NURSES = 38
CHARGE_NURSES = 8
SKILLS = [
    ("rn", "Registered nurse"),
    ("charge", "Charge nurse"),
    ("lpn", "Licensed practical nurse"),
    ("phlebotomy", "Phlebotomy"),
    ("iv", "IV therapy"),
    ("triage", "Phone triage"),
]
# username -> department code, job title, taxonomy code, employment type, FTE
USERS = {
    "maria": ("front", "Front desk coordinator", "", EmploymentType.FULL_TIME, "1.00"),
    "drchen": ("clinical", "Family physician", "207Q00000X", EmploymentType.FULL_TIME, "1.00"),
    "drpatel": ("clinical", "Family physician", "207Q00000X", EmploymentType.FULL_TIME, "1.00"),
    "drokafor": ("clinical", "Internist", "207R00000X", EmploymentType.FULL_TIME, "0.80"),
    "drsantos": ("clinical", "Nurse practitioner", "363LF0000X", EmploymentType.FULL_TIME, "1.00"),
    "drnguyen": ("clinical", "Family physician", "207Q00000X", EmploymentType.PART_TIME, "0.60"),
    "drweiss": ("clinical", "Physician assistant", "363A00000X", EmploymentType.FULL_TIME, "1.00"),
    "jamal": ("nursing", "Registered nurse", "163W00000X", EmploymentType.FULL_TIME, "1.00"),
    "devon": ("billing", "Billing specialist", "", EmploymentType.FULL_TIME, "1.00"),
    "priya": ("admin", "Office manager", "", EmploymentType.FULL_TIME, "1.00"),
    "sam": ("admin", "Practice administrator", "", EmploymentType.FULL_TIME, "1.00"),
    "avery": ("admin", "Compliance auditor", "", EmploymentType.CONTRACTOR, "0.20"),
}
FIRST = ["Aisha", "Ben", "Carmen", "Dana", "Elena", "Farah", "Grace", "Hector", "Imani", "Jon", "Kira", "Leo",
         "Mei", "Nadia", "Owen", "Paula", "Quinn", "Rosa", "Sofia", "Tariq", "Uma", "Victor", "Wendy", "Yara", "Zoe",
         "Andre", "Bianca", "Chloe", "Diego", "Esther", "Felix", "Gina", "Hana", "Ivan", "Julia", "Kofi", "Lena"]  # fmt: skip
LAST = ["Adams", "Baker", "Castillo", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Johnson", "Kim",
        "Lewis", "Martin", "Novak", "Ortiz", "Park", "Quinn", "Rivera", "Singh", "Turner", "Usman", "Vega", "Walsh",
        "Xu", "Young", "Zimmer", "Mensah", "Cohen", "Russo", "Brennan"]  # fmt: skip
FTE_MIX = [("1.00", EmploymentType.FULL_TIME, 18), ("0.90", EmploymentType.FULL_TIME, 8),
           ("0.80", EmploymentType.PART_TIME, 7), ("0.60", EmploymentType.PART_TIME, 4),
           ("0.60", EmploymentType.PER_DIEM, 1)]  # fmt: skip
COURSES = [
    ("hipaa", "HIPAA privacy and security", 12, 30),
    ("osha", "OSHA bloodborne pathogens", 12, 30),
    ("fire-safety", "Fire safety and evacuation", 24, 30),
    ("ehr-basics", "EHR basics", None, 14),
    ("harassment", "Workplace harassment prevention", 24, 60),
]
# title, category, owner role (empty: the new hire), days from start, course code
CHECKLISTS = {
    ("Medical assistant", Role.NURSE): [
        ("Create the sign-in account", ChecklistCategory.ACCOUNT, Role.ADMINISTRATOR, -3, ""),
        ("Grant EHR and phone system access", ChecklistCategory.ACCOUNT, Role.ADMINISTRATOR, -1, ""),
        ("Order the photo badge and door keys", ChecklistCategory.BADGE, Role.OFFICE_MANAGER, 0, ""),
        ("HIPAA privacy and security training", ChecklistCategory.TRAINING, "", 7, "hipaa"),
        ("OSHA bloodborne pathogens training", ChecklistCategory.TRAINING, "", 14, "osha"),
        ("EHR basics training", ChecklistCategory.TRAINING, "", 7, "ehr-basics"),
        ("Sign the confidentiality policy", ChecklistCategory.POLICY, "", 1, ""),
        ("Sign the code of conduct", ChecklistCategory.POLICY, "", 1, ""),
        ("File the BLS card and TB test", ChecklistCategory.OTHER, Role.OFFICE_MANAGER, 30, ""),
    ],
    ("Registered nurse", Role.NURSE): [
        ("Create the sign-in account", ChecklistCategory.ACCOUNT, Role.ADMINISTRATOR, -3, ""),
        ("Verify the RN licence with the state board", ChecklistCategory.OTHER, Role.OFFICE_MANAGER, -1, ""),
        ("Order the photo badge and door keys", ChecklistCategory.BADGE, Role.OFFICE_MANAGER, 0, ""),
        ("HIPAA privacy and security training", ChecklistCategory.TRAINING, "", 7, "hipaa"),
        ("OSHA bloodborne pathogens training", ChecklistCategory.TRAINING, "", 14, "osha"),
        ("Sign the confidentiality policy", ChecklistCategory.POLICY, "", 1, ""),
    ],
    ("Front desk", Role.FRONT_DESK): [
        ("Create the sign-in account", ChecklistCategory.ACCOUNT, Role.ADMINISTRATOR, -3, ""),
        ("Order the photo badge", ChecklistCategory.BADGE, Role.OFFICE_MANAGER, 0, ""),
        ("HIPAA privacy and security training", ChecklistCategory.TRAINING, "", 7, "hipaa"),
        ("Sign the confidentiality policy", ChecklistCategory.POLICY, "", 1, ""),
    ],
}


def _npi(rng: random.Random) -> str:
    first_nine = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    return first_nine + npi_check_digit(first_nine)


def _dea(rng: random.Random, last_name: str) -> str:
    six = "".join(str(rng.randrange(10)) for _ in range(6))
    return "A" + last_name[0].upper() + six + dea_check_digit(six)


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the staff to the demo practice; returns the number of rows added (0 on a second run)."""
    rng = random.Random(seed * 7919 + 11)  # noqa: S311  (demo data, not secrets)
    today = timezone.localdate()
    with transaction.atomic():
        skills, added = _skills(ctx.organization)
        members, n = _user_staff(ctx, rng, skills)
        added += n
        added += _nurses(ctx, rng, skills, manager=members.get("priya"), today=today)
        added += _courses_and_checklists(ctx.organization)
        added += _credentials(ctx.organization, rng, today=today)
        added += _training(ctx.organization, rng, today=today)
        added += _new_hires(ctx, members, today=today)
        # The expiry alerts the daily job would have sent by now: tasks for the nurses concerned and Priya.
        added += credential_alerts_send(organization=ctx.organization, today=today)
    return added


def _skills(org) -> tuple[dict[str, Skill], int]:
    skills, added = {}, 0
    for code, name in SKILLS:
        skills[code], created = Skill.objects.get_or_create(organization=org, code=code, defaults={"name": name})
        added += created
    return skills, added


def _user_staff(ctx, rng: random.Random, skills: dict[str, Skill]) -> tuple[dict[str, StaffMember], int]:
    members, added = {}, 0
    for username, user in ctx.users.items():
        dept, title, taxonomy, employment, fte = USERS.get(username, ("admin", "", "", EmploymentType.FULL_TIME, "1.00"))
        member = StaffMember.objects.filter(organization=ctx.organization, user=user).first()
        npi, dea = "", ""
        if user.role == Role.CLINICIAN:
            npi = _npi(rng)
            dea = _dea(rng, user.last_name) if user.title in ("MD", "DO", "NP") else ""
        if member is None:
            member = StaffMember.objects.create(
                organization=ctx.organization, user=user, first_name=user.first_name, last_name=user.last_name,
                job_title=title, role=user.role, department=ctx.departments[dept], employment_type=employment,
                fte=Decimal(fte), hire_date=date(2018 + len(members) % 7, 1 + len(members) % 12, 1),
                email=user.email, phone=f"+1555555{len(members):04d}", npi=npi, taxonomy_code=taxonomy,
                dea_number=dea, emergency_contact_name="On file with HR", emergency_contact_relation="Family",
                emergency_contact_phone=f"+1555556{len(members):04d}",
            )
            member.locations.set(ctx.locations if dept != "nursing" else ctx.locations[:1])
            if username == "jamal":
                member.skills.set([skills["rn"], skills["charge"], skills["triage"]])
            added += 1
        members[username] = member
    manager = members.get("priya")
    if manager is not None:
        StaffMember.objects.filter(organization=ctx.organization, manager__isnull=True).exclude(
            pk=manager.pk
        ).exclude(user__username__in=("sam", "avery")).filter(user__isnull=False).update(manager=manager)
    return members, added


def _nurses(ctx, rng: random.Random, skills: dict[str, Skill], *, manager, today: date) -> int:
    """The 24/7 unit: Jamal and 37 more nurses in Nursing, all RN, eight of them charge nurses."""
    dept = ctx.departments["nursing"]
    existing = set(
        StaffMember.objects.filter(organization=ctx.organization, department=dept).values_list("email", flat=True)
    )
    fte_pool = [(fte, kind) for fte, kind, count in FTE_MIX for _ in range(count)]
    rng.shuffle(fte_pool)
    extra_skills = [skills["lpn"], skills["phlebotomy"], skills["iv"], skills["triage"]]
    added = 0
    for i in range(NURSES - 1):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}@riverside.example"
        fte, kind = fte_pool[i]
        draws = rng.sample(extra_skills, k=rng.randrange(3)), rng.randrange(365 * 8)
        if email in existing:
            continue
        member = StaffMember.objects.create(
            organization=ctx.organization, first_name=first, last_name=last, job_title="Registered nurse",
            role=Role.NURSE, department=dept, employment_type=kind, fte=Decimal(fte),
            hire_date=today - timedelta(days=60 + draws[1]), manager=manager, email=email,
            phone=f"+1555557{i:04d}", taxonomy_code="163W00000X", status=StaffStatus.ACTIVE,
        )
        member.locations.set(ctx.locations[:1])
        chosen = [skills["rn"], *draws[0]]
        if i < CHARGE_NURSES - 1:
            chosen.append(skills["charge"])
        member.skills.set(chosen)
        added += 1
    return added


def _courses_and_checklists(org) -> int:
    added = 0
    courses = {}
    for code, name, renewal, days in COURSES:
        courses[code], created = Course.objects.get_or_create(
            organization=org, code=code, defaults={"name": name, "renewal_months": renewal, "days_to_complete": days}
        )
        added += created
    for (name, role), items in CHECKLISTS.items():
        template, created = ChecklistTemplate.objects.get_or_create(organization=org, name=name, defaults={"role": role})
        if created:
            ChecklistItem.objects.bulk_create(
                ChecklistItem(template=template, position=n, title=title, category=category, owner_role=owner,
                              due_offset_days=offset, course=courses.get(course))
                for n, (title, category, owner, offset, course) in enumerate(items)
            )
            added += 1
    return added


def _credentials(org, rng: random.Random, *, today: date) -> int:
    """Licences, BLS, TB and flu for the clinical staff; two licences lapsed and a few expiring within 90 days."""
    if Credential.objects.filter(organization=org).exists():
        return 0
    rows = []
    clinical = StaffMember.objects.filter(organization=org, role__in=(Role.CLINICIAN, Role.NURSE)).order_by("pk")
    for n, member in enumerate(clinical):
        if n in (3, 17):
            licence_expiry = today - timedelta(days=20 + n)
        elif n in (5, 11, 29):
            licence_expiry = today + timedelta(days=25 + 20 * (n % 3))
        else:
            licence_expiry = today + timedelta(days=120 + rng.randrange(600))
        name = "RN licence" if member.role == Role.NURSE else "Medical licence"
        rows.append(Credential(
            organization=org, staff=member, kind=CredentialKind.STATE_LICENSE, name=name, state="NY",
            number=f"{rng.randrange(100000, 999999)}", issuer="NYS Office of the Professions",
            issued_on=licence_expiry - timedelta(days=3 * 365), expires_on=licence_expiry,
            verified_at=timezone.now(),
        ))
        bls_expiry = today + timedelta(days=rng.randrange(-10, 700)) if n != 8 else today + timedelta(days=55)
        rows.append(Credential(
            organization=org, staff=member, kind=CredentialKind.CPR_BLS, name="BLS", issuer="American Heart Association",
            issued_on=bls_expiry - timedelta(days=730), expires_on=bls_expiry,
        ))
        rows.append(Credential(
            organization=org, staff=member, kind=CredentialKind.TB_TEST, name="TB test", required=True,
            issued_on=today - timedelta(days=rng.randrange(30, 300)),
            expires_on=today + timedelta(days=rng.randrange(80, 330)),
        ))
        if member.dea_number:
            rows.append(Credential(
                organization=org, staff=member, kind=CredentialKind.DEA, name="DEA registration",
                number=member.dea_number, issued_on=today - timedelta(days=400),
                expires_on=today + timedelta(days=695),
            ))
    Credential.objects.bulk_create(rows)
    return len(rows)


def _training(org, rng: random.Random, *, today: date) -> int:
    """Annual HIPAA and OSHA for everyone: most done within the year (next year's assigned), some overdue."""
    if TrainingAssignment.objects.filter(organization=org).exists():
        return 0
    courses = {c.code: c for c in Course.objects.filter(organization=org, code__in=("hipaa", "osha"))}
    rows = []
    staff = StaffMember.objects.filter(organization=org, status=StaffStatus.ACTIVE).select_related("department")
    for member in staff.order_by("pk"):
        for _code, course in sorted(courses.items()):
            # Billing and the front office run a little behind, so the chart has something to show.
            behind = 0.25 if member.department and member.department.code in ("billing", "front") else 0.08
            if rng.random() < behind:
                rows.append(TrainingAssignment(organization=org, staff=member, course=course,
                                               due_date=today - timedelta(days=rng.randrange(3, 40))))
                continue
            done = today - timedelta(days=rng.randrange(10, 330))
            rows.append(TrainingAssignment(organization=org, staff=member, course=course, due_date=done,
                                           status=AssignmentStatus.COMPLETED, completed_on=done,
                                           evidence_note=f"Certificate {rng.randrange(10000, 99999)}"))
            rows.append(TrainingAssignment(organization=org, staff=member, course=course,
                                           due_date=done + timedelta(days=365)))
    TrainingAssignment.objects.bulk_create(rows)
    return len(rows)


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _new_hires(ctx, members: dict[str, StaffMember], *, today: date) -> int:
    """Two new hires: Keisha Moore, a medical assistant who starts next Monday and has no checklist yet (Priya
    applies it, Scenario 10), and Tomas Ortega, a nurse part-way through his onboarding."""
    org, priya = ctx.organization, ctx.users.get("priya")
    if priya is None or StaffMember.objects.filter(organization=org, email="keisha.moore@riverside.example").exists():
        return 0
    manager = members.get("priya")
    keisha = StaffMember.objects.create(
        organization=org, first_name="Keisha", last_name="Moore", job_title="Medical assistant", role=Role.NURSE,
        department=ctx.departments["clinical"], employment_type=EmploymentType.FULL_TIME, fte=Decimal("1.00"),
        hire_date=_next_monday(today), manager=manager, status=StaffStatus.ONBOARDING,
        email="keisha.moore@riverside.example", phone="+15555558001",
    )
    keisha.locations.set(ctx.locations[:1])
    tomas = StaffMember.objects.create(
        organization=org, first_name="Tomas", last_name="Ortega", job_title="Registered nurse", role=Role.NURSE,
        department=ctx.departments["clinical"], employment_type=EmploymentType.PART_TIME, fte=Decimal("0.80"),
        hire_date=today - timedelta(days=9), manager=manager, status=StaffStatus.ACTIVE,
        email="tomas.ortega@riverside.example", phone="+15555558002", taxonomy_code="163W00000X",
    )
    template = ChecklistTemplate.objects.get(organization=org, name="Registered nurse")
    plan = checklist_apply(actor=priya, member=tomas, template=template, start_date=today - timedelta(days=9))
    OnboardingTask.objects.filter(plan=plan, due_date__lt=today - timedelta(days=2)).update(
        status=TaskStatus.DONE, completed_by=priya, completed_at=timezone.now()
    )
    return 2
