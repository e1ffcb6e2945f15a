"""Reads of statements for the pages: every one scoped to the acting user's practice (another practice's
record is simply not found)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from ..models import PatientAccount, Statement, StatementRun


def statement_runs(*, actor) -> QuerySet[StatementRun]:
    """The practice's statement runs, newest first."""
    return StatementRun.objects.filter(organization_id=actor.organization_id).select_related("created_by")


def statement_run_get(*, actor, run_id: int) -> StatementRun:
    run = statement_runs(actor=actor).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such statement run.")
    return run


def run_statements(*, actor, run: StatementRun) -> QuerySet[Statement]:
    """The statements of a run, for its results table and CSV (guarantor order)."""
    return (Statement.objects.filter(organization_id=actor.organization_id, run=run)
            .select_related("account", "account__guarantor_patient", "message").order_by("account__guarantor_name", "pk"))


def statement_get(*, actor, public_id: str) -> Statement:
    statement = (Statement.objects.filter(organization_id=actor.organization_id, public_id=public_id)
                 .select_related("account", "account__guarantor_patient", "run").first())
    if statement is None:
        raise Http404("No such statement.")
    return statement


def account_get(*, actor, public_id: str) -> PatientAccount:
    account = (PatientAccount.objects.filter(organization_id=actor.organization_id, public_id=public_id)
               .select_related("guarantor_patient").first())
    if account is None:
        raise Http404("No such account.")
    return account


def account_statements(*, actor, account: PatientAccount) -> QuerySet[Statement]:
    """An account's statement history, newest first."""
    return Statement.objects.filter(organization_id=actor.organization_id, account=account).select_related("run", "message")
