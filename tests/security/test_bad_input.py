"""Bad input never gives a 500: every page gets hostile query strings and, for each of its forms,
hostile values in every field; every API operation gets hostile parameters and bodies built from
its OpenAPI schema (NUL characters, which PostgreSQL refuses, overlong text, impossible dates,
numbers beyond 64 bits, wrong JSON types)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinicdesk.core.choices import Role

from .conftest import World
from .kwargs import build_url
from .urlwalk import all_routes

TEXT_VARIANTS = ["\x00", "x" * 5000, "2026-02-30", "-1", "9" * 30, "1e309", "٣", "' OR 1=1 --", "", " "]
JSON_VARIANTS = ["\x00", "x" * 5000, "2026-02-30", -1, 10**30, 1.5, True, None, [], {}, ["\x00"], {"a": "\x00"}]
QUERY_NAMES = ["q", "page", "sort", "tab", "status", "limit", "offset", "user", "patient", "action", "outcome",
               "date_from", "date_to", "category", "next", "cursor"]

ROUTES = all_routes()
PAGES = [r for r in ROUTES if not r.api_operations and not r.is_admin]
API = [r for r in ROUTES if r.api_operations]


class _Fields(HTMLParser):
    """The names of the fields of the page's POST forms."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self.files: set[str] = set()
        self._in_post_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_post_form = (a.get("method") or "get").lower() == "post"
        elif tag in ("input", "select", "textarea") and self._in_post_form and a.get("name"):
            if a.get("type") == "file":
                self.files.add(a["name"])
            elif a["name"] != "csrfmiddlewaretoken":
                self.names.add(a["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_post_form = False


def server_errors(responses) -> list[str]:
    out = []
    for label, response in responses:
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            out.append(f"{label}: {response.status_code}" + (f" {exc[1]!r}" if exc else ""))
    return out


@pytest.mark.parametrize("route", PAGES, ids=[r.label for r in PAGES])
def test_pages_survive_hostile_input(route, world: World):
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    responses = []
    for value in TEXT_VARIANTS:
        responses.append((f"GET {url} with {value[:12]!r}", world.client_as(admin).get(url, dict.fromkeys(QUERY_NAMES, value))))
    page = world.client_as(admin).get(url)
    fields = _Fields()
    if page.status_code == 200 and page.get("Content-Type", "").startswith("text/html"):
        fields.feed(page.content.decode())
    for value in TEXT_VARIANTS:
        data = dict.fromkeys(fields.names or {"anything"}, value)
        for name in fields.files:
            data[name] = SimpleUploadedFile("evil\x00name.pdf", b"%PDF-" + value.encode("utf-8", "replace")[:100])
        responses.append((f"POST {url} with {value[:12]!r}", world.client_as(admin).post(url, data)))
    problems = server_errors(responses)
    assert not problems, "\n".join(problems)


def _schema(openapi: dict, node: dict) -> dict:
    while "$ref" in node:
        node = openapi["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize("route", API, ids=[r.label for r in API])
def test_api_survives_hostile_input(route, world: World):
    admin = world.users[Role.ADMINISTRATOR]
    openapi = world.client_as(admin).get("/api/v1/openapi.json").json()
    url = build_url(route, "own", world, admin)
    template = "/" + route.regex
    spec = next((ops for path, ops in openapi["paths"].items()
                 if path.replace("{", "<").replace("}", ">").rstrip("/") == _as_template(template).rstrip("/")), None)
    assert spec is not None, f"{template} is not in the OpenAPI schema"
    responses = []
    for op in route.api_operations:
        for method in op.methods:
            detail = spec.get(method.lower(), {})
            query = [p["name"] for p in detail.get("parameters", []) if p.get("in") == "query"]
            body = detail.get("requestBody", {}).get("content", {})
            for value in TEXT_VARIANTS:
                params = dict.fromkeys(query, value)
                if method == "GET":
                    responses.append((f"GET {url} ?{value[:12]!r}", world.client_as(admin).get(url, params)))
            if "application/json" in body:
                properties = _schema(openapi, body["application/json"]["schema"]).get("properties", {})
                bodies = [{}, [], "x", None, 10**30] + [dict.fromkeys(properties, v) for v in JSON_VARIANTS]
                for b in bodies:
                    responses.append((f"{method} {url} {json.dumps(b)[:40]}", world.client_as(admin).generic(
                        method, url, data=json.dumps(b), content_type="application/json")))
                responses.append((f"{method} {url} not JSON", world.client_as(admin).generic(
                    method, url, data="{not json", content_type="application/json")))
            if "multipart/form-data" in body:
                properties = _schema(openapi, body["multipart/form-data"]["schema"]).get("properties", {})
                for value in TEXT_VARIANTS:
                    data = dict.fromkeys(properties, value)
                    for p, s in properties.items():
                        if s.get("format") == "binary":
                            data[p] = SimpleUploadedFile("evil\x00.pdf", b"%PDF-" + value.encode()[:50])
                    responses.append((f"{method} {url} multipart {value[:12]!r}", world.client_as(admin).post(url, data)))
    problems = server_errors(responses)
    assert not problems, "\n".join(problems)


def _as_template(regex_path: str) -> str:
    """'/api/v1/patients/(?P<public_id>[^/]+)' -> '/api/v1/patients/<public_id>'; 'payment\\-batches' -> 'payment-batches'."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", regex_path))
