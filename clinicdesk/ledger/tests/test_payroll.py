"""Payroll summaries: a file posts one balanced entry by department; bad rows are named and nothing is posted;
the same file twice posts once; the page."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.ledger.payroll import payroll_import
from clinicdesk.ledger.services import chart_install

D = Decimal
HEADER = ["period", "department", "gross wages", "employer taxes", "benefits"]


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin-payroll")


@pytest.fixture
def departments(org):
    chart_install(organization=org)
    return DepartmentFactory(organization=org, name="Nursing", code="nursing"), \
        DepartmentFactory(organization=org, name="Front Office", code="front")


def test_a_payroll_file_posts_one_balanced_entry_by_department_once(org, admin, departments):
    rows = [HEADER, ["2026-03", "nursing", "14,800.00", "1132.20", "900"], ["2026-03", "Front Office", "9200", "703.80", ""]]
    entry = payroll_import(organization=org, rows=rows, actor=admin)
    assert entry.entry_date.isoformat() == "2026-03-31" and entry.total == D("26736.00")
    nursing = JournalLine.objects.filter(entry=entry, department=departments[0])
    assert sum(ln.amount for ln in nursing) == D("16832.20")
    assert payroll_import(organization=org, rows=rows, actor=admin) == entry
    assert JournalEntry.objects.filter(organization=org).count() == 1


def test_bad_rows_are_named_and_nothing_is_posted(org, admin, departments):
    rows = [HEADER, ["2026-03", "nursing", "100", "10", "5"], ["2026-03", "Dentistry", "100", "0", "0"],
            ["March", "front", "100", "0", "0"], ["2026-03", "front", "lots", "0", "0"]]
    with pytest.raises(ValidationError) as bad:
        payroll_import(organization=org, rows=rows, actor=admin)
    messages = bad.value.messages
    assert "Line 3: unknown department 'Dentistry'." in messages
    assert "Line 4: period 'March' is not a month (write 2026-03)." in messages
    assert "Line 5: gross wages 'lots' is not an amount." in messages and "Nothing was posted." in messages
    assert not JournalEntry.objects.exists()
    with pytest.raises(ValidationError, match="more than one period"):
        payroll_import(organization=org, rows=[HEADER, ["2026-03", "front", "1", "0", "0"],
                                               ["2026-04", "front", "1", "0", "0"]], actor=admin)


def test_the_page_posts_the_file_and_names_a_bad_row(client_as, admin, departments):
    client = client_as(admin)
    bad = SimpleUploadedFile("p.csv", b"period,department,gross wages,employer taxes,benefits\n2026-03,lab,1,1,1\n")
    response = client.post(reverse("ledger:payroll_import"), {"file": bad})
    assert response.status_code == 400 and "Line 2: unknown department &#x27;lab&#x27;." in response.content.decode()
    good = SimpleUploadedFile("p.csv", b"period,department,gross wages,employer taxes,benefits\n2026-03,front,10,1,1\n")
    response = client.post(reverse("ledger:payroll_import"), {"file": good})
    assert response.status_code == 302 and JournalEntry.objects.count() == 1
