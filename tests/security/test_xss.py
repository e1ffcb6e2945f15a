"""Stored and reflected XSS: hostile text in every text field of the patient record and of the
practice's own records, then every page that shows it is fetched. The text must come back escaped:
no element, event handler, script or javascript: URL may come out of it.

The records are made with the ORM (no form cleans them first), as an import or the API could.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, Organization, User

from .conftest import Practice
from .kwargs import build_url
from .urlwalk import all_routes

PAYLOADS = [
    "<script>alert(1)</script>",
    "<ScRiPt>alert(document.cookie)</sCrIpT>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="  java&#x09;script:alert(1)">tab</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<body onload=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "{{7*7}}",
    "{% debug %}",
    "${7*7}",
    "#{7*7}",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    '<object data="javascript:alert(1)"></object>',
    "<embed src=javascript:alert(1)>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "=cmd|' /C calc'!A0",
    "Robert\r\nSet-Cookie: pwned=1",
]

DANGEROUS_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "base", "applet"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"}


class _Scanner(HTMLParser):
    """Collects what a browser would build from the page that could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False
        self._script_is_data = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name in URL_ATTRIBUTES and value:
                plain = re.sub(r"[\s\x00-\x1f]", "", unescape(value)).lower()
                if plain.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        if tag == "script":
            self._in_script = True
            self._script_is_data = attributes.get("type") in ("application/json", "application/ld+json")
            if not attributes.get("src") and not self._script_is_data:
                self.problems.append("inline <script>")
        elif tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}> element")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def scan(html: str) -> list[str]:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.problems


def _fits(field: models.Field, text: str) -> str:
    return text[: field.max_length] if getattr(field, "max_length", None) else text


def text_fields(model) -> list[models.Field]:
    """Every free-text column a person (or an import) can fill."""
    return [
        f for f in model._meta.concrete_fields
        if isinstance(f, (models.CharField, models.TextField)) and not f.choices and f.editable
        and f.name not in ("public_id",) and not isinstance(f, models.FileField)
    ]


def hostile(model, payload: str, **fixed) -> dict:
    """The payload in every free-text column of `model` (cut to the column's length), except `fixed` ones."""
    values = {f.name: _fits(f, payload) for f in text_fields(model) if f.name not in ("password",)}
    values.update(fixed)
    return values


@pytest.fixture
def xss_world(db, org, private_media, request):
    from clinicdesk.core.tests.factories import LocationFactory, UserFactory
    from clinicdesk.patients.models import CommunicationConsent, Document, Guarantor, Patient
    from clinicdesk.patients.tests.factories import (
        DocumentFactory,
        EmergencyContactFactory,
        PatientAlertFactory,
        PatientFactory,
    )

    payload = request.param
    Organization.objects.filter(pk=org.pk).update(name=_fits(Organization._meta.get_field("name"), payload))
    org.refresh_from_db()
    location = LocationFactory(organization=org, **hostile(Location, payload, code="loc1"))
    admin = UserFactory(organization=org, role=Role.ADMINISTRATOR,
                        **hostile(User, payload, username="xss-admin", email="xss-admin@example.com"))
    colleague = UserFactory(organization=org, role=Role.NURSE,
                            **hostile(User, payload, username="xss-colleague", email="c@example.com"))
    colleague.locations.set([location])
    patient = PatientFactory(organization=org, **hostile(Patient, payload, mrn=_fits(Patient._meta.get_field("mrn"), "X" + payload),
                                                         country="US", preferred_language="en"))
    practice = Practice(
        org=org,
        patient=patient,
        document=DocumentFactory(patient=patient, **hostile(Document, payload, content_type="application/pdf", sha256="0" * 64)),
        contact=EmergencyContactFactory(patient=patient, **hostile(EmergencyContactFactory._meta.model, payload)),
        alert=PatientAlertFactory(patient=patient, **hostile(PatientAlertFactory._meta.model, payload)),
        target_user=colleague,
        token=None,
    )
    Guarantor.objects.create(patient=patient, relationship="other", **hostile(Guarantor, payload))
    CommunicationConsent.objects.create(patient=patient, channel="sms", status="opted_in",
                                        **hostile(CommunicationConsent, payload))
    from clinicdesk.core import services

    services.api_token_create(user=admin, name=payload[:80], scopes=["dashboard.view"], days=5)
    audit_event(action="test.hostile", actor=admin, patient=patient, summary=payload)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    return {"payload": payload, "practice": practice, "admin": admin, "client": client, "patient": patient}


class _OnlyOwn:
    """What kwargs.build_url needs: the hostile records as 'own'."""

    def __init__(self, practice: Practice):
        self.own = practice
        self.other = practice

    def own_token_of(self, user):
        from clinicdesk.core.models import ApiToken

        return ApiToken.objects.filter(user=user).first()


def pages(world) -> list[str]:
    """Every page that can show the hostile records: each patient page (and tab), the lists and
    searches (with the payload as the query too), the practice's own pages."""
    from clinicdesk.patients.views import PATIENT_TABS

    payload, practice, admin = world["payload"], world["practice"], world["admin"]
    lookup = _OnlyOwn(practice)
    urls = []
    for route in all_routes():
        if route.label.startswith(("patients:", "core:user_edit", "core:")) and not route.api_operations:
            if route.label in ("patients:document", "core:audit_log_export", "patients:export", "patients:export_xlsx"):
                continue  # files and CSV, checked separately
            urls.append(build_url(route, "own", lookup, admin))
    detail = reverse("patients:detail", kwargs={"public_id": practice.patient.public_id})
    urls += [f"{detail}?tab={key}" for key in PATIENT_TABS]
    from urllib.parse import quote

    q = quote(payload)
    urls += [
        reverse("home"),
        f"{reverse('patients:list')}?q={q}",
        f"{reverse('patients:suggest')}?q={q}",
        f"{reverse('patients:list')}?q={quote(practice.patient.last_name[:20])}",
        f"{reverse('patients:suggest')}?q={quote(practice.patient.last_name[:20])}",
        f"{reverse('core:audit_log')}?patient={q}&user={q}&action={q}",
        f"{reverse('core:audit_log')}?page={q}",
    ]
    return list(dict.fromkeys(urls))


@pytest.mark.parametrize("xss_world", PAYLOADS, indirect=True, ids=[f"p{i:02d}" for i in range(len(PAYLOADS))])
def test_hostile_text_is_escaped_on_every_page(xss_world):
    payload, client = xss_world["payload"], xss_world["client"]
    problems = []
    fetched = {}
    for url in pages(xss_world):
        response = client.get(url)
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            problems.append(f"{url}: {response.status_code} {exc[1]!r}" if exc else f"{url}: {response.status_code}")
            continue
        if "pwned" in response.cookies:
            problems.append(f"{url}: a header was injected")
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        fetched[url] = html
        if any(c in payload for c in "<>\"'") and payload in html:
            problems.append(f"{url}: the payload appears unescaped")
        problems += [f"{url}: {p}" for p in scan(html)]
    detail = reverse("patients:detail", kwargs={"public_id": xss_world["patient"].public_id})
    assert detail in fetched, f"the patient page could not be fetched: {problems}"
    escaped = escape(payload)
    for url in (detail, reverse("core:user_list"), reverse("core:audit_log")):
        if escaped not in fetched.get(url, "") and escaped.replace("\r\n", "\n") not in fetched.get(url, ""):
            problems.append(f"{url}: the escaped payload {escaped!r} is not shown (was the text dropped or changed?)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("xss_world", PAYLOADS, indirect=True, ids=[f"p{i:02d}" for i in range(len(PAYLOADS))])
def test_hostile_text_in_files_csv_and_json(xss_world):
    client, practice = xss_world["client"], xss_world["practice"]
    # the document itself is served as what it is, never as HTML, and its name cannot break the headers
    response = client.get(reverse("patients:document", kwargs={"public_id": practice.document.public_id}))
    assert response.status_code == 200
    assert not response["Content-Type"].startswith("text/html")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "pwned" not in response.cookies
    # CSV cells never start a formula
    for url in (reverse("core:audit_log_export"), reverse("patients:export")):
        response = client.get(url)
        assert response.status_code == 200, url
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        for line in text.splitlines():
            for cell in line.split(","):
                assert not cell.strip('"').startswith(("=", "+", "@")), f"{url}: formula cell {cell!r}"
    # the API answers JSON, marked so that no browser sniffs it as HTML
    response = client.get(f"/api/v1/patients/{practice.patient.public_id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()
