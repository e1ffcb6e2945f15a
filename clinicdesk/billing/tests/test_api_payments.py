"""The payments API: amounts as strings (a JSON number is a 400 naming amount), the Idempotency-Key header
(required; the same key and body replay the first answer byte for byte; the same key with another body is 409
naming idempotency_key), declined cards, the account and payment reads, and another practice's records."""

import json
from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.billing.models import Payment
from clinicdesk.core import services as core_services
from clinicdesk.core.choices import Role
from clinicdesk.core.permissions import ROLE_PERMISSIONS
from clinicdesk.ledger.models import JournalEntry

D = Decimal
pytestmark = pytest.mark.django_db
BASE = "/api/v1/billing"


class Api:
    def __init__(self, client, user):
        _, self.secret = core_services.api_token_create(user=user, name="t", scopes=sorted(ROLE_PERMISSIONS[user.role]), days=1)
        self.client = client

    def get(self, path):
        return self.client.get(BASE + path, HTTP_AUTHORIZATION=f"Bearer {self.secret}")

    def post(self, path, body, key=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(BASE + path, raw, content_type="application/json", **headers)


@pytest.fixture
def desk_api(client, make_user):
    return Api(client, make_user(Role.FRONT_DESK))


@pytest.fixture
def owing(family, post_charge):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))
    return family["account"]


def test_a_cash_payment_posts_and_a_replay_is_identical(desk_api, owing):
    body = {"account": owing.public_id, "amount": "120.00", "method": "cash"}
    first = desk_api.post("/payments", body, key="key-1")
    second = desk_api.post("/payments", body, key="key-1")
    assert first.status_code == 201, first.content
    assert second.status_code == first.status_code and second.content == first.content
    data = first.json()
    assert data["amount"] == "120.00" and data["status"] == "posted"
    assert [a["amount"] for a in data["applied"]] == ["100.00", "20.00"]
    assert Payment.objects.count() == 1 and JournalEntry.objects.filter(kind="payment").count() == 1


def test_the_same_key_with_another_body_is_409_naming_the_key(desk_api, owing):
    desk_api.post("/payments", {"account": owing.public_id, "amount": "10.00", "method": "cash"}, key="key-2")
    other = desk_api.post("/payments", {"account": owing.public_id, "amount": "11.00", "method": "cash"}, key="key-2")
    assert other.status_code == 409 and "idempotency_key" in other.json()["errors"]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ('{"account": "%s", "amount": 12.5, "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": 12, "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": "-5.00", "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": "12.345", "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": "twelve", "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": "500.00", "method": "cash"}', "amount"),
    ('{"account": "%s", "amount": "5.00", "method": "barter"}', "method"),
    ('{"account": "%s", "amount": "5.00", "method": "check"}', "check_number"),
    ('{"account": "%s", "amount": "5.00", "method": "card"}', "card"),
    ('{"account": "%s", "amount": "5.00", "method": "cash", "allocations": [{"item": "999999", "amount": "5.00"}]}',
     "allocations"),
    ('{"account": "%s", "amount": "5.00", "method": "cash", "colour": "red"}', "colour"),
    ('{"account": "acc_nope", "amount": "5.00", "method": "cash"}', "account"),
])
def test_bad_input_is_a_400_naming_the_field_and_posts_nothing(desk_api, owing, body, field):
    raw = body % owing.public_id if "%s" in body else body
    response = desk_api.post("/payments", raw, key="bad")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert Payment.objects.count() == 0 and JournalEntry.objects.filter(kind="payment").count() == 0


def test_the_idempotency_key_header_is_required(desk_api, owing):
    response = desk_api.post("/payments", {"account": owing.public_id, "amount": "5.00", "method": "cash"})
    assert response.status_code == 400 and "idempotency_key" in response.json()["errors"]


def test_more_than_the_balance_needs_allow_credit(desk_api, owing):
    body = {"account": owing.public_id, "amount": "200.00", "method": "cash", "allow_credit": True}
    response = desk_api.post("/payments", body, key="credit")
    assert response.status_code == 201
    assert response.json()["applied"][-1] == {"service_date": None, "description": "Kept as a credit on the account",
                                              "amount": "50.00"}
    assert desk_api.get(f"/accounts/{owing.public_id}").json()["balance"] == "-50.00"


def test_chosen_allocations(desk_api, owing):
    account = desk_api.get(f"/accounts/{owing.public_id}").json()
    newest = account["open_charges"][-1]
    body = {"account": owing.public_id, "amount": "50.00", "method": "check", "check_number": "12",
            "allocations": [{"item": newest["item"], "amount": "50.00"}]}
    response = desk_api.post("/payments", body, key="alloc")
    assert response.status_code == 201
    left = desk_api.get(f"/accounts/{owing.public_id}").json()
    assert [c["balance"] for c in left["open_charges"]] == ["100.00"]


def test_a_declined_card_is_402_and_replays_as_402(desk_api, owing, fake_cards):
    body = {"account": owing.public_id, "amount": "50.00", "method": "card", "payment_method_id": "pm_x_0002"}
    first = desk_api.post("/payments", body, key="card-1")
    again = desk_api.post("/payments", body, key="card-1")
    assert first.status_code == 402 and first.json()["status"] == "declined" and first.json()["decline_reason"]
    assert again.status_code == 402 and again.content == first.content
    ok = desk_api.post("/payments", {**body, "payment_method_id": "pm_ok_4242"}, key="card-2")
    assert ok.status_code == 201 and ok.json()["card_last4"] == "4242"


def test_reads_and_another_practice(desk_api, owing, client, other_org, make_user):
    posted = desk_api.post("/payments", {"account": owing.public_id, "amount": "10.00", "method": "cash"}, key="r").json()
    assert desk_api.get(f"/payments/{posted['id']}").json()["amount"] == "10.00"
    account = desk_api.get(f"/accounts/{owing.public_id}").json()
    assert account["balance"] == "140.00" and len(account["members"]) == 2
    stranger = Api(client, make_user(Role.BILLER, organization=other_org))
    assert stranger.get(f"/payments/{posted['id']}").status_code == 404
    assert stranger.get(f"/accounts/{owing.public_id}").status_code == 404
    refused = stranger.post("/payments", {"account": owing.public_id, "amount": "1.00", "method": "cash"}, key="x")
    assert refused.status_code == 400 and "account" in refused.json()["errors"]
    nurse = Api(client, make_user(Role.NURSE))
    assert nurse.get(f"/accounts/{owing.public_id}").status_code == 403
