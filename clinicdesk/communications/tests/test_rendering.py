import pytest
from django.core.exceptions import ValidationError
from jinja2.exceptions import SecurityError, UndefinedError

from .. import merge
from ..rendering import HTML_ENV, TEXT_ENV, render, template_check, template_fields

CONTEXT = merge.sample_context(None)

# Each of these must be refused when saved, naming the problem, and do nothing harmful if rendered.
HOSTILE = [
    ("{{ settings }}", "Unknown merge field 'settings'"),
    ("{{ settings.SECRET_KEY }}", "Unknown merge field 'settings.SECRET_KEY'"),
    ("{{ patient.__class__ }}", "Unknown merge field 'patient.__class__'"),
    ("{{ patient.__class__.__mro__ }}", "Unknown merge field"),
    ("{{ ''.__class__ }}", "Only merge fields"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "function or method calls"),
    ('{% include "base.html" %}', "{% include %}"),
    ('{% import "base.html" as base %}', "{% import %}"),
    ('{% extends "base.html" %}', "{% extends %}"),
    ("{{ patient.first_name.upper() }}", "function or method calls"),
    ("{{ patient.items() }}", "function or method calls"),
    ("{{ cycler('a', 'b') }}", "function or method calls"),
    ("{{ joiner() }}", "function or method calls"),
    ("{% set ns = namespace(x=1) %}", "{% set %}"),
    ("{% for i in range(100000000) %}x{% endfor %}", "loops"),
    ("{{ patient.first_name * 100000000 }}", "arithmetic"),
    ("{{ patient.first_name|safe }}", "filter 'safe'"),
    ("{{ patient.first_name|attr('__class__') }}", "filter 'attr'"),
    ("{% macro m() %}x{% endmacro %}", "macros"),
    ("{{ lipsum }}", "Unknown merge field 'lipsum'"),
]


@pytest.mark.parametrize(("source", "reason"), HOSTILE, ids=[s for s, _ in HOSTILE])
def test_hostile_templates_are_refused_at_save_and_at_render(source, reason):
    with pytest.raises(ValidationError) as refused:
        template_check(kind="email", subject="Hello", body=source)
    assert any(reason in m for m in refused.value.message_dict["body"]), refused.value.message_dict
    assert "(line 1)" in " ".join(refused.value.message_dict["body"])
    with pytest.raises(ValidationError):
        render(source, CONTEXT, kind="email", subject="Hello")


@pytest.mark.parametrize("source", ["{{ settings }}", "{{ ''.__class__.__mro__ }}", "{{ cycler(1) }}", "{{ joiner() }}",
                                    "{{ namespace() }}", "{% for i in range(10**9) %}x{% endfor %}",
                                    "{{ patient.__class__ }}", "{{ patient.items.__self__.__class__ }}"])
def test_the_environment_itself_is_a_sandbox_without_globals(source):
    """Defence in depth: even without the save check, the environment has nothing to reach and no range to loop."""
    for env in (HTML_ENV, TEXT_ENV):
        with pytest.raises((UndefinedError, SecurityError)):
            env.from_string(source).render(CONTEXT)


def test_unknown_field_is_named_with_its_line_and_nothing_else_is_confused():
    body = "Dear {{ patient.first_name }},\n\nYour number: {{ patient.ssn }}\nThanks {{ provider.name }}"
    with pytest.raises(ValidationError) as refused:
        template_check(kind="letter", subject="", body=body)
    assert refused.value.message_dict == {"body": ["Unknown merge field 'patient.ssn' (line 3)."]}


def test_syntax_errors_name_the_line():
    with pytest.raises(ValidationError) as refused:
        template_check(kind="letter", subject="", body="Line one\nLine two {% if patient.first_name %}\nno end")
    assert "(line 3)" in refused.value.message_dict["body"][0] or "(line 2)" in refused.value.message_dict["body"][0]
    assert "cannot be read" in refused.value.message_dict["body"][0]


def test_subject_problems_are_reported_on_the_subject():
    with pytest.raises(ValidationError) as refused:
        template_check(kind="email", subject="Hi {{ patient.nickname }}", body="Hello")
    assert list(refused.value.message_dict) == ["subject"]


def test_fields_are_found_in_attributes_subscripts_conditions_and_filters():
    source = '{{ patient.first_name }} {{ patient["last_name"] }} {% if appointment.date %}{{ appointment.time|upper }}{% endif %} {{ today }}'
    assert template_fields(source) == {"patient.first_name", "patient.last_name", "appointment.date", "appointment.time", "today"}
    assert template_check(kind="letter", subject="", body=source) == sorted(template_fields(source))


def test_conditions_and_allowed_filters_render():
    source = "{% if patient.preferred_name == 'Ana' %}Hi {{ patient.preferred_name|upper }}{% else %}Hello{% endif %}"
    assert render(source, CONTEXT, kind="sms").text == "Hi ANA"
    assert render("{{ practice.phone|default('none', true) }}", {**CONTEXT, "practice": {**CONTEXT["practice"], "phone": ""}},
                  kind="sms").text == "none"


def test_unsafe_html_is_refused_naming_the_tag_and_line():
    body = "<p>Hello</p>\n<script>alert(1)</script>\n<a href=\"javascript:alert(1)\" onclick=\"x()\">x</a>\n<img src=x>"
    with pytest.raises(ValidationError) as refused:
        template_check(kind="letter", subject="", body=body)
    problems = " ".join(refused.value.message_dict["body"])
    assert "<script> is not allowed (line 2)" in problems
    assert "https: or mailto:" in problems and "onclick=" in problems and "<img> is not allowed (line 4)" in problems


def test_merge_values_are_escaped_and_the_html_is_sanitised():
    context = {**CONTEXT, "patient": {**CONTEXT["patient"], "first_name": '<script>alert(1)</script><a href="javascript:x">'}}
    rendered = render("<p>Dear {{ patient.first_name }},</p><p><a href=\"https://example.org/x\">site</a> "
                      "<a href=\"mailto:office@example.org\">mail</a></p>", context, kind="letter")
    assert "<script" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert 'href="https://example.org/x"' in rendered.html and 'href="mailto:office@example.org"' in rendered.html
    assert "Dear <script>alert(1)</script>" in rendered.text  # the text part is plain text, shown as text


def test_a_link_field_with_a_hostile_scheme_is_dropped_by_the_sanitiser():
    context = {**CONTEXT, "links": {**CONTEXT["links"], "letter_url": "javascript:alert(1)"}}
    rendered = render('<p><a href="{{ links.letter_url }}">Read</a></p>', context, kind="email", subject="x")
    assert "javascript" not in rendered.html and "Read" in rendered.html


def test_plain_text_bodies_become_paragraphs_and_the_text_version_keeps_link_targets():
    rendered = render("Dear {{ patient.first_name }},\n\nLine one\nline two & more\n\nBye <a href=\"{{ links.confirm_url }}\">confirm</a>",
                      CONTEXT, kind="email", subject="  Hello   {{ patient.first_name }} ")
    assert rendered.subject == "Hello Ana"
    assert rendered.html.startswith("<p>Dear Ana,</p><p>Line one<br>line two &amp; more</p>")
    assert "confirm (https://example.org/m/confirm)" in rendered.text
    assert "Line one\nline two & more" in rendered.text


def test_sms_templates_refuse_sensitive_fields_and_words_and_are_not_escaped():
    with pytest.raises(ValidationError) as refused:
        template_check(kind="sms", subject="", body="Born {{ patient.date_of_birth }}, visit type {{ appointment.type }}")
    assert len(refused.value.message_dict["body"]) == 2
    with pytest.raises(ValidationError, match="sensitive health detail"):
        template_check(kind="sms", subject="", body="Your biopsy results are in, {{ patient.first_name }}")
    context = {**CONTEXT, "practice": {**CONTEXT["practice"], "name": "Smith & Jones <Clinic>"}}
    assert render("{{ practice.name }}", context, kind="sms").text == "Smith & Jones <Clinic>"


def test_an_email_needs_a_subject_and_a_body():
    with pytest.raises(ValidationError) as refused:
        template_check(kind="email", subject="", body="  ")
    assert set(refused.value.message_dict) == {"subject", "body"}


def test_an_overlong_template_is_refused_before_it_is_parsed():
    with pytest.raises(ValidationError, match="limit is 20,000"):
        template_check(kind="letter", subject="", body="x" * 20_001)
