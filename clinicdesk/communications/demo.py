"""The demo practice's communications: templates and letters, the outbox, staff tasks, a campaign, and the
reminders the demo schedule is due (the same sweep the running office uses)."""

from __future__ import annotations

from django.db import transaction

from .demo_letters import seed as seed_letters
from .demo_outbox import seed as seed_outbox
from .demo_tasks import seed as seed_tasks


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add communications to the demo practice; returns the rows added (0 on a second run)."""
    added = seed_letters(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_outbox(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_tasks(ctx, patients=patients, seed=seed, stdout=stdout)
    added += _campaign(ctx)
    return added


def _campaign(ctx) -> int:
    """One finished flu-shot campaign, so the campaign page and its report have something to show."""
    from .choices import MessageChannel, TemplateKind
    from .models import Campaign
    from .services import campaigns
    from .services.templates import template_create

    org = ctx.organization
    if Campaign.objects.filter(organization=org).exists():
        return 0
    manager = ctx.users["priya"]
    with transaction.atomic():
        template = template_create(
            actor=manager, organization=org, code="flu-shots-email", name="Flu shots are here", kind=TemplateKind.EMAIL,
            purpose="campaign", subject="Flu shots are in at {{ practice.name }}",
            body=("<p>Dear {{ patient.first_name }},</p><p>This season's flu shots are here. Book online or call us at "
                  "{{ practice.phone }}.</p><p><a href=\"{{ links.unsubscribe_url }}\">Unsubscribe</a></p>"),
        )
        campaign = campaigns.campaign_create(actor=manager, name="Flu shots (65 and over)", channel=MessageChannel.EMAIL,
                                             template=template, filters={"age_min": 65}, per_minute=120)
    campaigns.campaign_start(actor=manager, campaign=campaign)
    return 2
