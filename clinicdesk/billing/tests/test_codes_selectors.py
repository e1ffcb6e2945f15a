"""Reads of the procedure list and fee schedules: each sees the acting user's practice only."""

from __future__ import annotations

import pytest

from clinicdesk.billing.selectors.codes import fee_list, fee_schedule_get, fee_schedule_list, procedure_search
from clinicdesk.billing.services.codes import fee_schedule_create, fee_schedule_import
from clinicdesk.core.choices import Role

HEADER = "code,modifiers,description,price,effective_from,effective_to\n"


@pytest.fixture
def practices(org, other_org, make_user):
    mine, theirs = make_user(Role.BILLER, username="mine"), make_user(Role.BILLER, username="theirs", organization=other_org)
    for user, text in [(mine, "99213,,Follow-up visit,110.00,2026-01-01,\n99214,25,Longer follow-up,165.00,2026-01-01,\n"),
                       (theirs, "99213,,Their visit,90.00,2026-01-01,\n36415,,Their blood draw,9.00,2026-01-01,\n")]:
        schedule = fee_schedule_create(organization=user.organization, name="Self-pay", actor=user)
        assert fee_schedule_import(schedule=schedule, file=HEADER + text, code_system="CPT", actor=user, dry_run=False).saved
    return mine, theirs


def test_procedure_search_by_code_start_and_words_in_own_practice(practices):
    mine, _ = practices
    assert [p.code for p in procedure_search(user=mine, query="")] == ["99213", "99214"]
    assert [p.code for p in procedure_search(user=mine, query="9921")] == ["99213", "99214"]
    assert [p.code for p in procedure_search(user=mine, query="follow longer")] == ["99214"]
    assert [p.code for p in procedure_search(user=mine, query="blood")] == []
    assert len(procedure_search(user=mine, query="", limit=1)) == 1


def test_fee_schedules_and_fees_of_own_practice_only(practices):
    mine, theirs = practices
    [schedule] = fee_schedule_list(user=mine)
    assert schedule.fee_count == 2 and schedule.organization_id == mine.organization_id
    assert [f.procedure.code for f in fee_list(user=mine, schedule=schedule, query="")] == ["99213", "99214"]
    assert [f.modifiers for f in fee_list(user=mine, schedule=schedule, query="25")] == ["25"]
    # Another practice's schedule gives nothing, even when passed in.
    [their_schedule] = fee_schedule_list(user=theirs)
    assert list(fee_list(user=mine, schedule=their_schedule, query="")) == []
    from django.http import Http404

    with pytest.raises(Http404):
        fee_schedule_get(user=mine, schedule_id=their_schedule.pk)
