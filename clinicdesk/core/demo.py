"""The demo practice's foundation: Riverside Family Medicine, its locations, departments, rooms and staff."""

from dataclasses import dataclass, field

from django.db import transaction

from .choices import Role, RoomKind
from .models import Department, Location, Organization, Room, User

DEMO_PASSWORD = "clinicdesk-demo"  # noqa: S105  (printed for the demo practice only)
HOURS = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}

STAFF = [
    # username, first, last, role, title
    ("maria", "Maria", "Lopez", Role.FRONT_DESK, ""),
    ("drchen", "Wei", "Chen", Role.CLINICIAN, "MD"),
    ("drpatel", "Anika", "Patel", Role.CLINICIAN, "DO"),
    ("drokafor", "Emeka", "Okafor", Role.CLINICIAN, "MD"),
    ("drsantos", "Lucia", "Santos", Role.CLINICIAN, "NP"),
    ("drnguyen", "Thanh", "Nguyen", Role.CLINICIAN, "MD"),
    ("drweiss", "Rachel", "Weiss", Role.CLINICIAN, "PA-C"),
    ("jamal", "Jamal", "Brooks", Role.NURSE, "RN"),
    ("devon", "Devon", "Reyes", Role.BILLER, ""),
    ("priya", "Priya", "Raman", Role.OFFICE_MANAGER, ""),
    ("sam", "Sam", "Whitaker", Role.ADMINISTRATOR, ""),
    ("avery", "Avery", "Stone", Role.AUDITOR, ""),
]


@dataclass
class DemoContext:
    organization: Organization
    locations: list[Location] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


@transaction.atomic
def seed(*, stdout=None) -> DemoContext:
    """Create (or find) the demo practice. Idempotent: running it twice changes nothing."""
    org, _ = Organization.objects.get_or_create(
        slug="riverside", defaults={"name": "Riverside Family Medicine", "npi": "1234567893", "mrn_prefix": "RFM"}
    )
    ctx = DemoContext(organization=org)
    for code, name, line1, city, phone in (
        ("main", "Riverside Main Street", "120 Main Street", "Riverside", "+15555550100"),
        ("north", "Riverside North", "8 Orchard Road", "Northfield", "+15555550188"),
    ):
        loc, _ = Location.objects.get_or_create(
            organization=org, code=code,
            defaults={"name": name, "address_line1": line1, "city": city, "state": "NY", "postal_code": "10001",
                      "phone": phone, "time_zone": "America/New_York", "opening_hours": HOURS},
        )
        ctx.locations.append(loc)
        for n in range(1, 5):
            Room.objects.get_or_create(location=loc, name=f"Exam {n}", defaults={"kind": RoomKind.EXAM})
    for code, name in (("front", "Front Office"), ("billing", "Billing"), ("nursing", "Nursing"),
                       ("clinical", "Clinical"), ("lab", "Lab"), ("admin", "Administration")):
        ctx.departments[code], _ = Department.objects.get_or_create(organization=org, code=code, defaults={"name": name})
    for username, first, last, role, title in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, role=role, title=title,
                        organization=org, email=f"{username}@riverside.example")
            user.set_password(DEMO_PASSWORD)
            user.save()
        ctx.users[username] = user
    if stdout is not None:
        stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, role, _ in STAFF:
            stdout.write(f"  {username:<10} {first} {last} · {role.label}")
    return ctx
