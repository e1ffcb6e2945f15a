from datetime import date

import pytest

from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.search import edit_distance, given_names_match, names_similar
from clinicdesk.patients.selectors import patient_likely_duplicates
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BORN = date(1985, 3, 7)


@pytest.fixture
def ana(org):
    return PatientFactory(organization=org, first_name="Ana", last_name="Álvarez", date_of_birth=BORN,
                          phone_mobile="+12125550101")


def check(actor, first_name, last_name, date_of_birth=BORN, **kwargs):
    return patient_likely_duplicates(actor=actor, first_name=first_name, last_name=last_name,
                                     date_of_birth=date_of_birth, **kwargs)


# --- the name rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"), [("john", "jonh", 1), ("alvarez", "alvares", 1), ("smith", "smyth", 1), ("ana", "bob", 3)]
)
def test_edit_distance_counts_a_swap_of_neighbours_as_one(a, b, distance):
    assert edit_distance(a, b) == distance


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [("Álvarez", "alvarez", True), ("Alvarez", "Alvares", True), ("O'Brien", "OBrien", True),
     ("Johnson", "Johnston", True), ("Smith", "Jones", False), ("Li", "Lu", True), ("Li", "Ma", False)],
)
def test_names_similar(a, b, similar):
    assert names_similar(a, b) is similar


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [("Robert", "Bob", True), ("Jon", "Jonathan", True), ("Katherine", "Kate", True), ("Ana", "Anna", True),
     ("José", "Pepe", True), ("Robert", "Alice", False)],
)
def test_given_names_match_nicknames_and_initials(a, b, match):
    assert given_names_match(a, b) is match


# --- patient_likely_duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last"),
    [("Ana", "Álvarez"), ("ana", "ALVAREZ"), ("Anna", "Alvares"), ("Ana María", "Álvarez"), ("Álvarez", "Ana")],
)
def test_same_birth_date_and_a_similar_name(front_desk, ana, first, last):
    found = check(front_desk, first, last)
    assert found == [ana]
    assert found[0].duplicate_reasons[0].startswith("same birth date")


def test_swapped_names_say_so(front_desk, ana):
    assert check(front_desk, "Álvarez", "Ana")[0].duplicate_reasons == ["same birth date, first and last names swapped"]


def test_nickname_of_the_first_name(front_desk, org):
    robert = PatientFactory(organization=org, first_name="Robert", last_name="Smith", date_of_birth=BORN)
    assert check(front_desk, "Bob", "Smith") == [robert]


def test_preferred_name_counts_as_a_first_name(front_desk, org):
    peggy = PatientFactory(organization=org, first_name="Margaret", preferred_name="Peggy", last_name="Ruiz",
                           date_of_birth=BORN)
    assert check(front_desk, "Peggy", "Ruiz") == [peggy]


def test_same_birth_date_but_another_name_is_not_a_duplicate(front_desk, ana):
    assert check(front_desk, "Robert", "Smith") == []


def test_similar_name_but_another_birth_date_is_not_a_duplicate(front_desk, ana):
    assert check(front_desk, "Ana", "Álvarez", date_of_birth=date(1986, 3, 7)) == []


def test_same_phone_is_a_likely_duplicate_whatever_the_name(front_desk, ana):
    found = check(front_desk, "Robert", "Smith", date_of_birth=date(1990, 1, 1), phone="(212) 555-0101")
    assert found == [ana]
    assert found[0].duplicate_reasons == ["same phone number"]


def test_phones_may_be_given_as_a_list_and_both_reasons_rank_first(front_desk, org, ana):
    # given one match by phone only, and Ana by birth date, name and phone
    sibling = PatientFactory(organization=org, first_name="Luis", last_name="Álvarez", date_of_birth=date(2010, 1, 1),
                             phone_home="+12125550101")
    # when
    found = check(front_desk, "Ana", "Alvarez", phones=["", "+1 212 555 0101"])
    # then
    assert found == [ana, sibling]
    assert found[0].duplicate_reasons == ["same birth date, similar name", "same phone number"]


def test_partial_phone_is_not_compared(front_desk, ana):
    assert check(front_desk, "Robert", "Smith", date_of_birth=date(1990, 1, 1), phone="555-0101") == []


def test_other_practices_merged_records_and_the_record_itself_are_left_out(front_desk, org, other_org, ana):
    PatientFactory(organization=other_org, first_name="Ana", last_name="Álvarez", date_of_birth=BORN)
    PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", date_of_birth=BORN,
                   merged_into=ana, status=PatientStatus.INACTIVE)
    assert check(front_desk, "Ana", "Álvarez") == [ana]
    assert check(front_desk, "Ana", "Álvarez", exclude_id=ana.pk) == []


def test_system_callers_pass_the_organization(org, ana):
    found = patient_likely_duplicates(organization=org, first_name="Ana", last_name="Alvarez", date_of_birth=BORN)
    assert found == [ana]


def test_nothing_for_a_user_who_cannot_see_patients(auditor, ana):
    assert check(auditor, "Ana", "Álvarez") == []
