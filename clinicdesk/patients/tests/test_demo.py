import pytest

from clinicdesk.core import demo as core_demo
from clinicdesk.patients import demo
from clinicdesk.patients.models import Patient
from clinicdesk.patients.search import search_fields
from clinicdesk.patients.selectors import patient_search

pytestmark = pytest.mark.django_db

FIELDS = ("mrn", "public_id", "first_name", "last_name", "date_of_birth", "phone_mobile", "status", "search_name")


def rows(org) -> list[tuple]:
    return list(Patient.objects.filter(organization=org).order_by("mrn").values_list(*FIELDS))


def test_demo_patients_are_the_same_whichever_way_the_practice_grew():
    # given
    ctx = core_demo.seed()
    demo.seed(ctx, patients=40)
    direct = rows(ctx.organization)
    Patient.objects.filter(organization=ctx.organization).delete()
    # when grown in two steps instead
    assert demo.seed(ctx, patients=15) == 15
    assert demo.seed(ctx, patients=40) == 25
    assert demo.seed(ctx, patients=40) == 0
    # then
    assert rows(ctx.organization) == direct


def test_demo_rows_are_searchable_and_their_search_columns_right():
    # given
    ctx = core_demo.seed()
    demo.seed(ctx, patients=30)
    # then
    for patient in Patient.objects.filter(organization=ctx.organization):
        assert (patient.search_name, patient.search_phones) == search_fields(patient)
    found = patient_search(actor=ctx.users["maria"], query="alv ana")
    assert [(p.first_name, p.last_name) for p in found][:1] == [("Ana", "Álvarez")]
    assert patient_search(actor=ctx.users["maria"], query="(212) 555-0101")[0].last_name == "Álvarez"
