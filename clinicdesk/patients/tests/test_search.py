from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.patients.search import mrn_spellings, normalize_name, parse_birth_date, parse_query, search_fields
from clinicdesk.patients.selectors import patient_search
from clinicdesk.patients.selectors import search as search_selectors
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)


def names(patients) -> list[str]:
    return [f"{p.last_name}, {p.first_name}" for p in patients]


@pytest.fixture
def ana(org):
    return PatientFactory(
        organization=org, first_name="Ana", last_name="Álvarez", mrn="T0000123", date_of_birth=date(1985, 3, 7),
        phone_mobile="+12125550101",
    )


# --- reading what was typed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1985-03-07", [date(1985, 3, 7)]),
        ("03/07/1985", [date(1985, 3, 7), date(1985, 7, 3)]),
        ("3/7/85", [date(1985, 3, 7), date(1985, 7, 3)]),
        ("07.03.1985", [date(1985, 7, 3), date(1985, 3, 7)]),
        ("12/25/1990", [date(1990, 12, 25)]),
        ("25/12/1990", [date(1990, 12, 25)]),
        ("03071985", [date(1985, 3, 7)]),
        ("3/7/19", [date(2019, 3, 7), date(2019, 7, 3)]),
        ("2/30/1985", []),
        ("1/1/2099", []),
        ("1/1/1850", []),
        ("alvarez", []),
    ],
)
def test_birth_dates_are_read_us_month_first_and_iso(typed, expected):
    assert parse_birth_date(typed, today=TODAY) == expected


def test_a_query_splits_into_names_dates_phone_and_mrn():
    parsed = parse_query("  Álvarez   ANA 3/7/85 ", mrn_prefix="RFM", today=TODAY)
    assert parsed.words == ("alvarez", "ana")
    assert parsed.dates == (date(1985, 3, 7), date(1985, 7, 3))
    assert parsed.phone == ""
    assert parsed.mrns == ()


@pytest.mark.parametrize(
    ("typed", "digits"),
    [("(212) 555-0101", "2125550101"), ("+1 212 555 0101", "2125550101"), ("1-212-555-0101", "2125550101"),
     ("555-0101", "5550101"), ("212.555.0101", "2125550101"), ("0101", ""), ("555 01", "")],
)
def test_phone_needs_at_least_seven_digits_and_drops_the_country_code(typed, digits):
    assert parse_query(typed, today=TODAY).phone == digits


def test_mrn_is_tried_as_typed_and_with_the_practice_prefix():
    assert mrn_spellings("rfm0000123", prefix="RFM") == ("RFM0000123",)
    assert mrn_spellings("0000123", prefix="RFM") == ("0000123", "RFM0000123")
    assert mrn_spellings("two words", prefix="RFM") == ()


def test_search_columns_put_the_last_name_first_and_fold_accents():
    patient = Patient(first_name="José", middle_name="Ángel", last_name="Núñez-O'Brien", preferred_name="Pepe",
                      phone_mobile="+1 (212) 555-0101", phone_home="", phone_work="+12125550101")
    assert search_fields(patient) == ("nunez obrien jose angel pepe", "2125550101 5550101")
    assert normalize_name("  ÁLVAREZ  ") == "alvarez"


# --- patient_search: what is found ------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["alv ana", "ana alv", "Álvarez", "alvarez", "ALVAREZ, Ana", "álv", "an álvarez"])
def test_name_in_any_order_partial_and_without_accents(front_desk, ana, typed):
    # given another patient whose words do not all match
    PatientFactory(organization=ana.organization, first_name="Anabel", last_name="Smith")
    # when
    found = patient_search(actor=front_desk, query=typed)
    # then
    assert ana in found
    assert all(p.last_name != "Smith" for p in found)


def test_words_must_begin_a_word_of_the_name(front_desk, org, ana):
    PatientFactory(organization=org, first_name="Mariana", last_name="Ruiz")
    assert names(patient_search(actor=front_desk, query="ana")) == ["Álvarez, Ana"]


def test_preferred_and_middle_names_are_searched(front_desk, org):
    robert = PatientFactory(organization=org, first_name="Robert", middle_name="Lee", last_name="Smith", preferred_name="Bob")
    assert patient_search(actor=front_desk, query="smith bob") == [robert]
    assert patient_search(actor=front_desk, query="lee smi") == [robert]


@pytest.mark.parametrize("typed", ["1985-03-07", "03/07/1985", "3/7/85", "3-7-1985", "03071985"])
def test_birth_date_in_the_usual_formats(front_desk, ana, typed):
    found = patient_search(actor=front_desk, query=typed)
    assert found == [ana]
    assert found[0].search_match == "date_of_birth"


def test_an_ambiguous_date_shows_the_us_reading_first(front_desk, org, ana):
    # given Ana (March 7) and someone born on July 3
    july = PatientFactory(organization=org, first_name="Zoe", last_name="Adams", date_of_birth=date(1985, 7, 3))
    # when
    found = patient_search(actor=front_desk, query="07.03.1985")
    # then the month-first reading (July 3) leads, the day-first one follows
    assert found == [july, ana]


def test_birth_date_with_a_name_narrows_to_both(front_desk, org, ana):
    PatientFactory(organization=org, first_name="Ben", last_name="Ortiz", date_of_birth=date(1985, 3, 7))
    assert patient_search(actor=front_desk, query="alv 3/7/1985") == [ana]


@pytest.mark.parametrize("typed", ["(212) 555-0101", "+1 212 555 0101", "2125550101", "212-555-01", "555-0101", "5550101"])
def test_phone_with_any_punctuation(front_desk, ana, typed):
    found = patient_search(actor=front_desk, query=typed)
    assert found == [ana]
    assert found[0].search_match == "phone"


def test_four_digits_alone_are_not_a_phone_search(front_desk, ana):
    assert patient_search(actor=front_desk, query="0101") == []


def test_home_and_work_phones_are_searched(front_desk, org):
    patient = PatientFactory(organization=org, phone_mobile="", phone_home="+17185550199", phone_work="+19145550142")
    assert patient_search(actor=front_desk, query="718 555 0199") == [patient]
    assert patient_search(actor=front_desk, query="(914) 555-0142") == [patient]


@pytest.mark.parametrize("typed", ["T0000123", "t0000123", "0000123"])
def test_mrn_exact_case_insensitive_with_or_without_prefix(front_desk, ana, typed):
    found = patient_search(actor=front_desk, query=typed)
    assert found[0] == ana
    assert found[0].search_match == "mrn"


def test_mrn_is_not_matched_by_a_fragment(front_desk, ana):
    assert patient_search(actor=front_desk, query="T00001") == []


# --- patient_search: order, scope and permissions ----------------------------------------------------


def test_exact_mrn_first_then_last_name_prefix_then_other_name_matches(front_desk, org):
    # given
    by_first_name = PatientFactory(organization=org, first_name="Lee", last_name="Adams")
    by_last_name_b = PatientFactory(organization=org, first_name="Zed", last_name="Leeds")
    by_last_name_a = PatientFactory(organization=org, first_name="Amy", last_name="Lee")
    by_mrn = PatientFactory(organization=org, first_name="Mo", last_name="Zulu", mrn="LEE")
    # when
    found = patient_search(actor=front_desk, query="lee")
    # then
    assert found == [by_mrn, by_last_name_a, by_last_name_b, by_first_name]
    assert [p.search_match for p in found] == ["mrn", "name", "name", "name"]


def test_limit_is_respected(front_desk, org):
    PatientFactory.create_batch(5, organization=org, last_name="Garcia")
    assert len(patient_search(actor=front_desk, query="garcia", limit=3)) == 3


def test_another_practices_patients_never_appear(front_desk, other_org, ana):
    # given the same person registered at another practice, with the same MRN
    PatientFactory(organization=other_org, first_name="Ana", last_name="Álvarez", mrn="T0000123",
                   date_of_birth=date(1985, 3, 7), phone_mobile="+12125550101")
    # when / then
    for typed in ("alv ana", "3/7/1985", "212 555 0101", "T0000123"):
        assert patient_search(actor=front_desk, query=typed) == [ana]


def test_auditor_gets_nothing(auditor, ana):
    assert patient_search(actor=auditor, query="alvarez") == []


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER, Role.OFFICE_MANAGER])
def test_roles_that_see_patients_find_them(make_user, ana, role):
    assert patient_search(actor=make_user(role), query="alvarez") == [ana]


def test_merged_records_are_never_found(front_desk, org, ana):
    # given a duplicate merged into Ana
    PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", mrn="T0000999",
                   date_of_birth=date(1985, 3, 7), phone_mobile="+12125550101", merged_into=ana,
                   status=PatientStatus.INACTIVE)
    # when / then
    for typed in ("alv ana", "3/7/1985", "212 555 0101"):
        assert patient_search(actor=front_desk, query=typed) == [ana]
    assert patient_search(actor=front_desk, query="T0000999") == []


def test_inactive_and_deceased_are_shown_unless_asked_not_to(front_desk, org):
    active = PatientFactory(organization=org, last_name="Quint", first_name="Al")
    inactive = PatientFactory(organization=org, last_name="Quint", first_name="Bo", status=PatientStatus.INACTIVE)
    deceased = PatientFactory(organization=org, last_name="Quint", first_name="Cy", status=PatientStatus.DECEASED,
                              date_of_birth=date(1940, 1, 1), deceased_date=date(2020, 1, 1))
    assert patient_search(actor=front_desk, query="quint") == [active, inactive, deceased]
    assert patient_search(actor=front_desk, query="quint", include_inactive=False) == [active]


@pytest.mark.parametrize("typed", ["", " ", "a", "%", "'; drop table x; --", "_", '"', "alv*", "NEAR(", "^", "a" * 500])
def test_odd_input_never_fails(front_desk, ana, typed):
    assert isinstance(patient_search(actor=front_desk, query=typed), list)


def test_changes_to_a_name_or_phone_are_searchable_at_once(front_desk, ana):
    # when the record is edited through save(update_fields=...)
    ana.last_name = "Benítez"
    ana.phone_mobile = "+13155550177"
    ana.save(update_fields=["last_name", "phone_mobile", "updated_at"])
    # then
    ana.refresh_from_db()
    assert ana.search_name == "benitez ana"
    assert patient_search(actor=front_desk, query="benitez ana") == [ana]
    assert patient_search(actor=front_desk, query="alvarez") == []
    assert patient_search(actor=front_desk, query="315 555 0177") == [ana]


def test_deleted_records_leave_the_index(front_desk, org):
    patient = PatientFactory(organization=org, last_name="Gone", first_name="Soon")
    Patient.objects.filter(pk=patient.pk).delete()
    assert patient_search(actor=front_desk, query="gone") == []


@pytest.mark.parametrize(
    ("walk_first", "dense", "query"),
    [(0, 3000, "kat"), (2, 3000, "kat"), (2, 0, "kat"), (0, 0, "kat"), (0, 3000, "kat mi"), (0, 0, "kat mi")],
    ids=["text index", "walk then text index", "walk, index too dense, walk on", "walk only", "two words", "two words walked"],
)
def test_every_access_path_gives_the_same_page(front_desk, org, monkeypatch, walk_first, dense, query):
    # given namesakes spread over the alphabet, so reading in order takes several chunks
    for i in range(12):
        PatientFactory(organization=org, first_name="Kate", middle_name="Mia", last_name=f"Last{i:02d}")
        PatientFactory(organization=org, first_name="Other", last_name=f"Last{i:02d}x")
    # when
    monkeypatch.setattr(search_selectors, "WALK_CHUNKS_BEFORE_INDEX", walk_first)
    monkeypatch.setattr(search_selectors, "DENSE_MATCHES", dense)
    monkeypatch.setattr(search_selectors, "WALK_CHUNK", 5)
    found = patient_search(actor=front_desk, query=query, limit=8)
    # then
    assert names(found) == [f"Last{i:02d}, Kate" for i in range(8)]


# --- the type-ahead endpoint -------------------------------------------------------------------------


def test_suggest_lists_matches_with_links_age_mrn_and_phone_tail(client_as, front_desk, ana):
    response = client_as(front_desk).get(reverse("patients:suggest"), {"q": "alv ana"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Álvarez, Ana" in html
    assert reverse("patients:detail", kwargs={"public_id": ana.public_id}) in html
    assert "03/07/1985" in html and f"{ana.age} y" in html
    assert "MRN T0000123" in html
    assert "…0101" in html


def test_suggest_marks_inactive_and_deceased(client_as, front_desk, org):
    PatientFactory(organization=org, last_name="Quint", first_name="Cy", status=PatientStatus.DECEASED,
                   date_of_birth=date(1940, 1, 1), deceased_date=date(2020, 1, 1))
    html = client_as(front_desk).get(reverse("patients:suggest"), {"q": "quint"}).content.decode()
    assert "Deceased" in html
    assert "died at 80" in html


def test_suggest_waits_for_two_characters(client_as, front_desk, ana):
    response = client_as(front_desk).get(reverse("patients:suggest"), {"q": "a"})
    assert response.status_code == 200
    assert response.content == b""


def test_suggest_says_when_nothing_matches(client_as, front_desk, ana):
    html = client_as(front_desk).get(reverse("patients:suggest"), {"q": "zzzz"}).content.decode()
    assert "No patient matches" in html


def test_suggest_is_refused_to_the_auditor(client_as, auditor):
    assert client_as(auditor).get(reverse("patients:suggest"), {"q": "alv"}).status_code == 403


def test_suggest_writes_no_audit_row(client_as, front_desk, ana):
    client = client_as(front_desk)
    before = AuditEvent.objects.count()
    client.get(reverse("patients:suggest"), {"q": "alvarez"})
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("typed", ["smi", "smith jo", "3/7/1985", "212 555 0101"])
def test_suggest_query_count_does_not_grow_with_rows(client_as, front_desk, org, typed):
    # given
    client = client_as(front_desk)
    url = reverse("patients:suggest")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"q": typed}).status_code == 200
        return len(captured)

    PatientFactory.create_batch(12, organization=org, last_name="Smith", first_name="John",
                                date_of_birth=date(1985, 3, 7), phone_mobile="+12125550101")
    queries()  # the first request of a session does one-off work (session, sign-in bookkeeping)
    few = queries()
    # when there are many more matching rows
    PatientFactory.create_batch(30, organization=org, last_name="Smith", first_name="John",
                                date_of_birth=date(1985, 3, 7), phone_mobile="+12125550101")
    many = queries()
    # then
    assert many == few
