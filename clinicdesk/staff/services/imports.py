"""The staff list as a spreadsheet: the columns of its CSV/XLSX download, and the import of such a file (new
records added, known ones changed, matched by e-mail, else by name) through staff_save."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Department, User
from clinicdesk.core.tables import ImportResult, TableRow, date_parse, rows_save, table_read

from ..models import Skill, StaffMember
from .records import staff_save

# The download's header and the import's columns; end_date is the offboarding's to set, so an import reads it never.
COLUMNS = ("last_name", "first_name", "job_title", "department", "role", "employment_type", "fte", "status",
           "hire_date", "end_date", "manager", "email", "phone", "npi", "skills")
REQUIRED_COLUMNS = ("last_name", "first_name")
_TEXT = ("first_name", "last_name", "job_title", "email", "phone", "npi")
_CODES = ("role", "employment_type", "status")


def staff_export_row(m: StaffMember) -> list:
    """One staff member as a row of the download (department, manager and skills joined or prefetched)."""
    return [m.last_name, m.first_name, m.job_title, m.department.name if m.department else "", m.role,
            m.employment_type, m.fte, m.status, m.hire_date, m.end_date, m.manager.full_name if m.manager else "",
            m.email, m.phone, m.npi, " ".join(sorted(s.code for s in m.skills.all()))]


@dataclass
class StaffImportRow(TableRow):
    """A line of the file with what it sets: record fields and, when their columns are there, the relations."""

    data: dict = field(default_factory=dict)
    relations: dict = field(default_factory=dict)


def _parse(row: StaffImportRow, columns, *, departments, managers, skills) -> None:
    for name in _TEXT:
        if name in columns:
            row.data[name] = row.cell(name)
    for name in _CODES:
        if name in columns and row.cell(name):
            row.data[name] = row.cell(name).lower()
    if "fte" in columns and row.cell("fte"):
        try:
            row.data["fte"] = Decimal(row.cell("fte"))
        except InvalidOperation:
            row.fail("fte", f"{row.cell('fte')} is not a number; write the share of full time, like 0.80.")
    if "hire_date" in columns:
        row.data["hire_date"] = date_parse(row, "hire_date", row.cell("hire_date"), required=False)
    if "department" in columns:
        text = row.cell("department")
        row.relations["department"] = departments.get(text.lower()) if text else None
        if text and row.relations["department"] is None:
            row.fail("department", f"{text} is not a department of the practice.")
    if "manager" in columns:
        text = row.cell("manager")
        found = managers.get(text.lower(), []) if text else [None]
        if len(found) != 1:
            row.fail("manager", f"{text} is {'not on the staff list' if not found else 'the name of several staff members'}.")
        else:
            row.relations["manager"] = found[0]
    if "skills" in columns:
        codes = row.cell("skills").lower().replace(",", " ").split()
        unknown = [c for c in codes if c not in skills]
        if unknown:
            row.fail("skills", f"{', '.join(unknown)} {'is not a skill' if len(unknown) == 1 else 'are not skills'} of the practice.")
        row.relations["skills"] = [skills[c] for c in codes if c in skills]


def _differs(member: StaffMember, row: StaffImportRow) -> bool:
    if any(getattr(member, name) != value for name, value in row.data.items()):
        return True
    rel = row.relations
    return (("department" in rel and rel["department"] != member.department)
            or ("manager" in rel and rel["manager"] != member.manager)
            or ("skills" in rel and {s.pk for s in rel["skills"]} != {s.pk for s in member.skills.all()}))


def _match(rows: list[StaffImportRow], members: list[StaffMember]) -> None:
    """Each row's staff member: by e-mail, else (without one) by first and last name."""
    by_email = {m.email.lower(): m for m in members if m.email}
    by_name: dict[tuple, list[StaffMember]] = {}
    for m in members:
        by_name.setdefault((m.first_name.lower(), m.last_name.lower()), []).append(m)
    seen: dict[object, int] = {}
    for row in rows:
        if row.outcome == ImportOutcome.ERROR:
            continue
        email = row.cell("email").lower()
        key = email or (row.cell("first_name").lower(), row.cell("last_name").lower())
        if key in seen:
            row.fail("email" if email else "last_name", f"the same {'e-mail' if email else 'name'} as line {seen[key]}.")
            continue
        seen[key] = row.line
        named = [] if email else [m for m in by_name.get(key, []) if not m.email]
        if len(named) > 1:
            row.fail("email", "several staff members have this name; add their e-mail to say which.")
            continue
        row.target = by_email.get(email) if email else (named[0] if named else None)
        if row.target is None:
            row.outcome = ImportOutcome.NEW
        else:
            row.outcome = ImportOutcome.UPDATED if _differs(row.target, row) else ImportOutcome.UNCHANGED


@transaction.atomic
def staff_import(*, file, actor: User, dry_run: bool) -> ImportResult:
    """Add or change staff records from a CSV or XLSX file with the columns of the staff list's download.
    All or nothing: any bad line saves nothing; a dry run saves nothing and shows what every line would do."""
    table = table_read(file, required=REQUIRED_COLUMNS, expected=COLUMNS)
    org_id = actor.organization_id
    members = list(StaffMember.objects.filter(organization_id=org_id).select_related("department", "manager", "user")
                   .prefetch_related("skills"))
    departments = {}
    for dept in Department.objects.filter(organization_id=org_id):
        departments[dept.code.strip().lower()] = dept
        departments.setdefault(dept.name.strip().lower(), dept)
    managers: dict[str, list[StaffMember]] = {}
    for m in members:
        managers.setdefault(m.full_name.lower(), []).append(m)
    skills = {s.code.lower(): s for s in Skill.objects.filter(organization_id=org_id)}
    rows = []
    for line in table.rows:
        row = StaffImportRow(line=line.line, cells=line.cells(COLUMNS))
        if line.extra:
            row.fail("(extra)", f"{len(line.values)} values for {len(table.columns)} columns.")
        _parse(row, table.columns, departments=departments, managers=managers, skills=skills)
        rows.append(row)
    _match(rows, members)
    result = ImportResult(rows=rows, dry_run=dry_run)

    def save(row: StaffImportRow) -> None:
        member = row.target
        kept = {"department": member.department, "manager": member.manager} if member else {}
        staff_save(actor=actor, member=member, data=row.data, user=member.user if member else None,
                   **{**kept, **row.relations})

    rows_save(result, save=save)
    if result.saved:
        counts = result.counts
        audit_event(action="staff.imported", actor=actor, organization_id=org_id,
                    summary=f"Staff imported: {counts['new']} new, {counts['updated']} updated, "
                            f"{counts['unchanged']} unchanged",
                    changes={"counts": counts})
    return result
