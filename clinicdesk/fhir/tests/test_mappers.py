"""The Patient mapper writes its resource in the R4B model's own form without validating it on the way out, so these
tests validate it: patients of every shape, each resource exactly what the model makes of it, byte for byte."""

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient

from clinicdesk.fhir import mappers
from clinicdesk.fhir.bindings import code_issues
from clinicdesk.patients.choices import AdministrativeSex, PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SHAPES = [
    {},
    {"first_name": "Ana", "middle_name": "Lucía", "last_name": "Álvarez-Núñez", "suffix": "Jr", "preferred_name": "Lulu"},
    {"first_name": "Mary", "preferred_name": "Mary", "last_name": "O'Brien"},
    {"phone_mobile": "", "phone_home": "+12025550111", "phone_work": "+12025550122", "email": ""},
    {"phone_mobile": "", "email": ""},
    {"address_line1": "1 Elm St", "address_line2": "Apt 4", "city": "Riverside", "state": "NY", "postal_code": "10001",
     "country": "US"},
    {"address_line1": "", "city": "", "state": "", "postal_code": "", "country": ""},
    {"preferred_language": ""},
    {"preferred_language": "zh-Hant"},
    {"status": PatientStatus.INACTIVE, "sex": AdministrativeSex.MALE},
    {"status": PatientStatus.DECEASED, "deceased_date": date(2027, 1, 2), "sex": AdministrativeSex.OTHER},
    {"sex": AdministrativeSex.UNKNOWN, "first_name": "  Lee ", "last_name": "de la Cruz", "suffix": "III"},
    {"first_name": "Zoë", "last_name": "Ørsted", "middle_name": "ß", "email": "zoë@example.com"},
]


def model_written(resource: dict) -> str:
    """The resource as the R4B Patient model writes it after validating it."""
    return json.dumps(FhirPatient.model_validate(resource).model_dump(mode="json", exclude_none=True), ensure_ascii=False)


def varied_patients(clinic) -> list[Patient]:
    patients = [PatientFactory(organization=clinic.organization, **shape) for shape in SHAPES]
    patients.append(PatientFactory(organization=clinic.organization, primary_provider=clinic.provider))
    rng = random.Random(7)  # noqa: S311
    fields = [shape for shape in SHAPES if shape]
    for _ in range(30):
        mixed = {}
        for shape in rng.sample(fields, 3):
            mixed.update(shape)
        if mixed.get("status") == PatientStatus.DECEASED or rng.random() < 0.2:
            mixed.update(status=PatientStatus.DECEASED, deceased_date=date(2026, rng.randint(1, 12), rng.randint(1, 28)))
        patients.append(PatientFactory(organization=clinic.organization, **mixed))
    # As a search reads them: from the database, the organization joined.
    return list(Patient.objects.select_related("organization").filter(pk__in=[p.pk for p in patients]).order_by("id"))


def test_every_patient_resource_is_exactly_what_the_model_writes(clinic):
    # given patients of every shape the chart allows
    patients = varied_patients(clinic)
    assert len(patients) == len(SHAPES) + 31
    for patient in patients:
        # when
        resource = mappers.patient_resource(patient)
        # then it validates, its codes are bound, and the model writes it back unchanged, element order included
        assert json.dumps(resource, ensure_ascii=False) == model_written(resource), patient.public_id
        assert code_issues(resource) == []
        assert mappers._checked(FhirPatient, resource) == resource


def test_the_resource_says_what_the_record_says(clinic):
    patient = PatientFactory(organization=clinic.organization, first_name="Ana", middle_name="", suffix="",
                             preferred_name="", phone_mobile="", email="", status=PatientStatus.DECEASED,
                             deceased_date=date(2027, 1, 2), address_line1="1 Elm St", address_line2="",
                             country="")
    patient.refresh_from_db()

    resource = mappers.patient_resource(patient)

    assert list(resource) == ["resourceType", "id", "meta", "identifier", "active", "name", "gender", "birthDate",
                              "deceasedDateTime", "address", "communication", "managingOrganization"]
    assert resource["meta"]["lastUpdated"].endswith("Z")
    assert resource["name"] == [{"use": "official", "family": patient.last_name, "given": ["Ana"]}]
    assert "telecom" not in resource and "generalPractitioner" not in resource
    assert resource["deceasedDateTime"] == "2027-01-02"
    assert resource["address"][0]["line"] == ["1 Elm St"] and "country" not in resource["address"][0]


def test_a_code_outside_its_binding_is_refused(clinic):
    patient = PatientFactory(organization=clinic.organization)
    patient.sex = "woman"

    with pytest.raises(ValueError, match="'woman' is not one of"):
        mappers.patient_resource(patient)


def test_an_instant_in_utc_is_written_as_the_model_writes_it():
    assert mappers._model_instant(datetime(2027, 3, 10, 12, 0, 5, 999, tzinfo=UTC)) == "2027-03-10T12:00:05Z"
    eastern = timezone(timedelta(hours=-5))
    assert mappers._model_instant(datetime(2027, 3, 10, 7, 0, tzinfo=eastern)) == "2027-03-10T07:00:00-05:00"
