from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import LinkAction
from ..links import link_find, link_issue, link_path, link_use
from ..models import ActionLink

pytestmark = pytest.mark.django_db


def test_a_link_works_once_and_stores_only_the_tokens_hash(org):
    patient = PatientFactory(organization=org)
    link, token = link_issue(organization=org, action=LinkAction.UNSUBSCRIBE, patient=patient)
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert link_use(token, action=LinkAction.UNSUBSCRIBE).pk == link.pk
    with pytest.raises(ValidationError, match="already used"):
        link_use(token)
    assert ActionLink.objects.get().used_at is not None


def test_an_expired_or_wrong_link_is_refused(org):
    _, token = link_issue(organization=org, action=LinkAction.CONFIRM, valid_for=timedelta(hours=1))
    with pytest.raises(ValidationError, match="expired"):
        link_find(token, now=timezone.now() + timedelta(hours=2))
    with pytest.raises(ValidationError, match="not valid"):
        link_find(token, action=LinkAction.CANCEL)
    with pytest.raises(ValidationError, match="not valid"):
        link_find("no-such-token")


def test_the_public_page_explains_a_bad_link_without_a_500(client, org):
    response = client.get(link_path("no-such-token"))
    assert response.status_code == 404 and "not valid" in response.content.decode()
    _, token = link_issue(organization=org, action=LinkAction.CONFIRM)
    link_use(token)
    response = client.get(link_path(token))
    assert response.status_code == 410 and "already used" in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"


def test_a_token_that_reads_as_a_sensitive_word_is_drawn_again(org, monkeypatch):
    from .. import links
    from ..services.outbox import sms_sensitive_problem

    # given: the random draw first gives a token a text message may not carry, then a harmless one
    draws = iter(["jFuGI4gep0wNuxxsZ-HivxmPbwT6eyQv", "jFuGI4gep0wNuxxsZ-KivxmPbwT6eyQv"])
    monkeypatch.setattr(links.secrets, "token_urlsafe", lambda size: next(draws))
    assert sms_sensitive_problem(f"use https://example.org/m/{'jFuGI4gep0wNuxxsZ-HivxmPbwT6eyQv'}/")
    # when a link is issued
    link, token = link_issue(organization=org, action=LinkAction.CONFIRM)
    # then the harmless one is the link's token
    assert token == "jFuGI4gep0wNuxxsZ-KivxmPbwT6eyQv" and link_find(token).pk == link.pk
