"""The demo technology: the register, the calibrations due, the EHR licence expiring soon and one open ticket."""

import pytest

from clinicdesk.core import demo as core_demo
from clinicdesk.inventory.assets import demo
from clinicdesk.inventory.assets.choices import AlertSubject, AssetKind, TicketStatus
from clinicdesk.inventory.assets.models import Asset, AssetAlert, ServiceTicket
from clinicdesk.staff import demo as staff_demo

pytestmark = pytest.mark.django_db


def test_the_demo_register_has_what_the_office_manager_needs_to_see():
    # given
    ctx = core_demo.seed()
    staff_demo.seed(ctx, patients=0, seed=2026)
    # when
    added = demo.seed(ctx, patients=0, seed=2026)
    # then
    org = ctx.organization
    kinds = set(Asset.objects.filter(organization=org).values_list("kind", flat=True))
    assert {AssetKind.COMPUTER, AssetKind.PRINTER, AssetKind.PHONE, AssetKind.NETWORK, AssetKind.MEDICAL_DEVICE,
            AssetKind.SOFTWARE_LICENCE} <= kinds
    for asset in Asset.objects.filter(organization=org):
        asset.full_clean()
    assert AssetAlert.objects.filter(asset__tag="RFM-SW-001", subject=AlertSubject.LICENCE).exists()
    assert AssetAlert.objects.filter(asset__tag="RFM-MED-002", subject=AlertSubject.MAINTENANCE,
                                     threshold_days=0).exists()
    assert ServiceTicket.objects.filter(organization=org, status=TicketStatus.OPEN).count() == 1
    assert Asset.objects.get(organization=org, tag="RFM-PC-003").assigned_to.user.username == "drchen"
    # and a second run adds nothing
    assert added > 30
    assert demo.seed(ctx, patients=0, seed=2026) == 0
