"""Selectors: credential lapses the roster and schedule warn about."""

from datetime import date

import pytest

from clinicdesk.staff.choices import CredentialKind
from clinicdesk.staff.selectors import credential_lapses
from clinicdesk.staff.tests.factories import CredentialFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_credential_lapses_names_expired_and_expiring_required_credentials(org, other_org):
    # given
    nurse = StaffMemberFactory(organization=org)
    fine = StaffMemberFactory(organization=org)
    CredentialFactory(staff=nurse, kind=CredentialKind.STATE_LICENSE, name="RN licence", state="NY",
                      number="123456", expires_on=date(2026, 10, 31))
    CredentialFactory(staff=nurse, kind=CredentialKind.CPR_BLS, name="BLS", expires_on=date(2026, 12, 10))
    CredentialFactory(staff=nurse, name="Optional course", required=False, expires_on=date(2026, 1, 1))
    CredentialFactory(staff=fine, name="BLS", expires_on=date(2027, 6, 1))
    stranger = StaffMemberFactory(organization=other_org)
    CredentialFactory(staff=stranger, name="BLS", expires_on=date(2020, 1, 1))

    # when
    lapses = credential_lapses(
        organization=org, staff_ids=[nurse.pk, fine.pk, stranger.pk], start=date(2026, 12, 1), end=date(2026, 12, 31)
    )

    # then
    assert lapses == {nurse.pk: ["RN licence NY expired 2026-10-31", "BLS expires 2026-12-10"]}


def test_credential_lapses_of_nobody_is_empty(org, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert credential_lapses(organization=org, staff_ids=[], start=date(2026, 1, 1), end=date(2026, 2, 1)) == {}
