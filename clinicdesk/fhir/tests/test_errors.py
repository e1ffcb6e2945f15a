"""Bad requests get an OperationOutcome naming the problem and never a 500; nothing changes."""

import pytest

from clinicdesk.scheduling.models import Appointment

from .conftest import expressions, issues

pytestmark = pytest.mark.django_db


def test_unknown_resource_type_is_404(fhir):
    for path in ("Observation", "Observation/1", "patient"):
        response = fhir.get(path)
        assert response.status_code == 404, path
        assert issues(response)[0]["code"] == "not-supported"


def test_unknown_id_is_404(fhir):
    for path in ("Patient/nosuchpatient", "Practitioner/999999", "Practitioner/abc", "Location/0", "Organization/99999999",
                 "Appointment/x"):
        response = fhir.get(path)
        assert response.status_code == 404, path
        assert issues(response)[0]["code"] == "not-found"


@pytest.mark.parametrize(("body", "content_type", "status"), [
    ("{not json", "application/fhir+json", 400),
    (b"\xff\xfe", "application/fhir+json", 400),
    ("[]", "application/fhir+json", 400),
    ('"Appointment"', "application/json", 400),
    ('{"resourceType": "Patient"}', "application/fhir+json", 400),
    ('{"resourceType": "Appointment"}', "text/plain", 415),
    ('{"resourceType": "Appointment", "status": "booked", "participant": [], "fhir_comments": ["x"]}', "application/fhir+json", 400),
])
def test_bad_bodies(fhir, body, content_type, status):
    response = fhir.post("Appointment", body, content_type=content_type)
    assert response.status_code == status, response.content
    assert issues(response)
    assert not Appointment.objects.exists()


def test_a_missing_element_names_it(fhir):
    response = fhir.post("Appointment", {"resourceType": "Appointment", "status": "booked"})
    assert response.status_code == 400
    assert expressions(response) == ["Appointment.participant"]
    assert issues(response)[0]["code"] == "required"


def test_wrong_resource_type_names_the_element(fhir):
    response = fhir.post("Appointment", {"resourceType": "Patient"})
    assert expressions(response) == ["Appointment.resourceType"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "Patient"), ("PUT", "Patient/x"), ("DELETE", "Appointment/x"), ("PATCH", "Patient/x"), ("PUT", "Appointment"),
    ("POST", "metadata"),
])
def test_methods_not_offered_are_405(fhir, method, path):
    response = fhir.client.generic(method, "/fhir/R4/" + path, "{}", content_type="application/fhir+json", **fhir._headers())
    assert response.status_code in (405, 403), response.content  # 403: POST metadata without a CSRF token is refused first
    if response.status_code == 405:
        assert issues(response)[0]["code"] == "not-supported" and response["Allow"]


@pytest.mark.parametrize("params", [{"_format": "xml"}, {"_format": "application/fhir+xml"}])
def test_only_json_is_served(fhir, params):
    response = fhir.get("Patient", params)
    assert response.status_code == 406 and expressions(response) == ["_format"]


def test_an_accept_header_without_json_is_406(fhir):
    assert fhir.get("Patient", HTTP_ACCEPT="application/fhir+xml").status_code == 406
    assert fhir.get("Patient", HTTP_ACCEPT="application/fhir+json").status_code == 200
    assert fhir.get("Patient", HTTP_ACCEPT="text/html, */*;q=0.8").status_code == 200


@pytest.mark.parametrize("query", ["_count=1e3", "birthdate=ge", "_id=", "gender=male,", "date=ge2027-03-15&date=xx",
                                   "identifier=|", "name=%F0%9F%98%80", "_page=99999999999"])
def test_garbage_in_search_is_never_a_500(fhir, query):
    resource = "Appointment" if query.startswith("date") else "Patient"
    response = fhir.get(f"{resource}?{query}")
    assert response.status_code in (200, 400), (query, response.status_code)
