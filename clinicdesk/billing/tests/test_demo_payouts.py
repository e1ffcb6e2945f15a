"""The card payouts demo: three paid-out days through the local processor, two reconciled and posted, one waiting
with the terminal sale nobody recorded; card clearing is zero for the reconciled days; made once."""

from decimal import Decimal

from clinicdesk.billing.choices import CardPayoutStatus, PayoutLineMatch
from clinicdesk.billing.demo_payouts import seed_payouts
from clinicdesk.billing.models import CardPayout, CardPayoutLine
from clinicdesk.core.demo import seed
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine
from clinicdesk.patients.tests.factories import PatientFactory

from .card_processor import processor_settings


def test_the_demo_pays_out_three_days_and_holds_one_with_an_exception(db, settings):
    processor_settings(settings, "http://localhost")
    settings.CARD_LOCAL_PROCESSOR = True
    ctx = seed()
    for _ in range(70):
        PatientFactory(organization=ctx.organization)
    assert seed_payouts(ctx, patients=70, seed=1) > 0
    assert seed_payouts(ctx, patients=70, seed=1) == 0
    payouts = list(CardPayout.objects.order_by("arrival_date"))
    assert len(payouts) == 3
    assert [p.status for p in payouts] == [CardPayoutStatus.POSTED, CardPayoutStatus.POSTED, CardPayoutStatus.EXCEPTIONS]
    held = CardPayoutLine.objects.get(match=PayoutLineMatch.UNKNOWN)
    assert held.payout == payouts[2] and held.amount == Decimal("45.00")
    assert payouts[1].refunds == Decimal("10.00")
    # card clearing: the unmatched day's payments are still in it, the reconciled days are not
    clearing = sum(line.amount for line in JournalLine.objects.filter(account__role=AccountRole.CARD_CLEARING))
    assert clearing == Decimal("145.00")
