"""Cash is always taken somewhere: where a practice has several offices, every path that posts cash (the desk's
form, the REST API, a batch) must name the drawer, and a practice with one office gets that office by default.
Mailed checks in a lockbox batch are taken at no desk and need none."""

import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.lockbox import PaymentInput, payments_post
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.core import services as core_services
from clinicdesk.core.choices import Role
from clinicdesk.core.permissions import ROLE_PERMISSIONS
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory
from clinicdesk.ledger.models import JournalEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def owing(family, post_charge):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    return family["account"]


def _nothing_posted():
    return Payment.objects.count() == 0 and not JournalEntry.objects.filter(kind="payment").exists()


def test_cash_without_a_location_is_refused_where_the_practice_has_two_offices(org, owing):
    LocationFactory(organization=org, code="north")
    LocationFactory(organization=org, code="south")
    with pytest.raises(ValidationError) as refused:
        payment_post(account=owing, amount="20.00", method="cash", idempotency_key="k1", actor=None)
    assert "Choose where the cash was taken" in refused.value.message_dict["location"][0]
    with pytest.raises(ValidationError) as refused:
        payment_post(account=owing, amount="20.00", method="check", check_number="12", idempotency_key="k2", actor=None)
    assert "check was taken" in refused.value.message_dict["location"][0]
    assert _nothing_posted()


def test_the_only_office_is_the_drawer_and_cards_need_none(org, owing):
    # given an inactive office, which takes no money
    LocationFactory(organization=org, code="closed", is_active=False)
    main = LocationFactory(organization=org, code="main")
    # when
    cash = payment_post(account=owing, amount="20.00", method="cash", idempotency_key="k1", actor=None)
    # then
    assert cash.location == main
    assert Payment.objects.get(pk=cash.pk).location_id == main.pk


def test_a_location_of_another_practice_is_refused(org, owing):
    LocationFactory(organization=org)
    elsewhere = LocationFactory(organization=OrganizationFactory())
    with pytest.raises(ValidationError) as refused:
        payment_post(account=owing, amount="20.00", method="cash", idempotency_key="k1", actor=None, location=elsewhere)
    assert "another practice" in refused.value.message_dict["location"][0]
    assert _nothing_posted()


def test_a_batch_names_the_cash_payment_without_a_drawer_and_posts_nothing(org, owing):
    LocationFactory(organization=org, code="north")
    LocationFactory(organization=org, code="south")
    with pytest.raises(ValidationError) as refused:
        payments_post(organization=org, actor=None, payments=[
            PaymentInput(account=owing, amount="10.00", method="check", check_number="1", idempotency_key="b1"),
            PaymentInput(account=owing, amount="10.00", method="cash", idempotency_key="b2"),
        ])
    assert refused.value.message_dict["location"][0].startswith("Payment 2: Choose where the cash was taken")
    assert _nothing_posted()


def test_a_batch_of_mailed_checks_needs_no_drawer_and_cash_gets_the_only_office(org, owing):
    main = LocationFactory(organization=org, code="main")
    posted = payments_post(organization=org, actor=None, payments=[
        PaymentInput(account=owing, amount="10.00", method="check", check_number="1", idempotency_key="b1"),
        PaymentInput(account=owing, amount="15.00", method="cash", idempotency_key="b2"),
    ])
    assert [p.location_id for p in posted] == [None, main.pk]
    assert sorted(Payment.objects.values_list("location_id", flat=True), key=str) == sorted([None, main.pk], key=str)


class TestApi:
    @pytest.fixture
    def api(self, client, make_user):
        user = make_user(Role.FRONT_DESK)
        _, secret = core_services.api_token_create(user=user, name="t", scopes=sorted(ROLE_PERMISSIONS[user.role]),
                                                   days=1)

        def post(body, key):
            return client.post("/api/v1/billing/payments", json.dumps(body), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_IDEMPOTENCY_KEY=key)
        return post

    def test_cash_through_the_api_names_its_office_by_code(self, api, org, owing):
        LocationFactory(organization=org, code="north")
        south = LocationFactory(organization=org, code="south")
        body = {"account": owing.public_id, "amount": "20.00", "method": "cash"}
        refused = api(body, "a1")
        assert refused.status_code == 400 and "location" in refused.json()["errors"]
        assert _nothing_posted()
        taken = api(body | {"location": "south"}, "a2")
        assert taken.status_code == 201, taken.content
        assert taken.json()["location"] == "south"
        assert Payment.objects.get().location_id == south.pk

    def test_an_unknown_office_code_is_a_400_naming_location(self, api, org, owing):
        LocationFactory(organization=org, code="north")
        LocationFactory(organization=OrganizationFactory(), code="theirs")
        for code in ("nowhere", "theirs"):
            answer = api({"account": owing.public_id, "amount": "20.00", "method": "cash", "location": code}, code)
            assert answer.status_code == 400
            assert answer.json()["errors"]["location"] == [f"'{code}' is not a location where you take payments."]
        assert _nothing_posted()
