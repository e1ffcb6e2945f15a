"""Rendering templates safely: Jinja2's immutable sandbox, a strict allow-list of template syntax, and nh3.

A template is checked when it is saved and again every time it is rendered, so a wording that got into the
database some other way is refused too. Allowed: merge fields from the catalogue (`{{ patient.first_name }}`,
also `patient["first_name"]`), `{% if %}`/`{% elif %}`/`{% else %}` with `and`, `or`, `not` and comparisons
with constants (wording that depends on what is known: "{% if appointment.provider %}with ...{% endif %}"),
and a few text filters. Everything else is refused by name and line: calls (so no methods and no globals such
as `range`, `cycler`, `joiner`, `namespace`), loops (the context holds no lists, and a loop is the way to make
a render slow), `include`, `import`, `extends`, `set`, macros, arithmetic. The environment itself has no
globals and only the allowed filters, and the sandbox blocks private attributes, as a second line of defence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

import nh3
from django.core.exceptions import ValidationError
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import merge
from .choices import TemplateKind

MAX_SOURCE_CHARS = 20_000
ALLOWED_FILTERS = ("default", "upper", "lower", "title", "capitalize", "trim")
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "th": {"colspan", "rowspan", "scope"}, "td": {"colspan", "rowspan"}}
URL_SCHEMES = {"https", "mailto"}
HTML_KINDS = frozenset({TemplateKind.LETTER, TemplateKind.EMAIL})

_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.If, nodes.CondExpr, nodes.Not, nodes.And,
    nodes.Or, nodes.Compare, nodes.Operand, nodes.Concat,
)
# What a refused construct is called in the message a person reads.
_REFUSED = {
    nodes.Call: "function or method calls",
    nodes.For: "loops ({% for %})",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.Macro: "macros",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %}",
    nodes.Test: "tests ('is ...')",
    nodes.BinExpr: "arithmetic",
    nodes.UnaryExpr: "arithmetic",
    nodes.List: "lists",
    nodes.Tuple: "lists",
    nodes.Dict: "dictionaries",
    nodes.Slice: "slices",
}


def _environment(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    return env


HTML_ENV = _environment(autoescape=True)
TEXT_ENV = _environment(autoescape=False)


@dataclass(frozen=True)
class Rendered:
    """A rendered template: subject (e-mails and letters), plain text, and sanitised HTML (empty for SMS)."""

    subject: str
    text: str
    html: str


# --- looking at a template ---------------------------------------------------------------------------------


def _chain(node: nodes.Node) -> str | None:
    """"patient.first_name" for patient.first_name or patient["first_name"]; None for anything else."""
    if isinstance(node, nodes.Name):
        return node.name if node.ctx == "load" else None
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return f"{base}.{node.attr}" if base is not None else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        base = _chain(node.node)
        return f"{base}.{node.arg.value}" if base is not None else None
    return None


def _walk(node: nodes.Node, fields: list[tuple[str, int]], problems: list[str]) -> None:
    line = getattr(node, "lineno", None) or 1
    if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
        dotted = _chain(node)
        if dotted is None:
            problems.append(f"Only merge fields such as patient.first_name may be used (line {line}).")
        else:
            fields.append((dotted, line))
        return
    if isinstance(node, nodes.Filter):
        if node.name not in ALLOWED_FILTERS:
            problems.append(f"The filter '{node.name}' is not allowed; use one of {', '.join(ALLOWED_FILTERS)} (line {line}).")
            return
        if node.node is None or node.kwargs or node.dyn_args or node.dyn_kwargs or not all(isinstance(a, nodes.Const) for a in node.args):
            problems.append(f"The filter '{node.name}' may only take plain text or numbers (line {line}).")
            return
        _walk(node.node, fields, problems)
        return
    if not isinstance(node, _ALLOWED_NODES):
        what = next((label for kind, label in _REFUSED.items() if isinstance(node, kind)), f"'{type(node).__name__}'")
        problems.append(f"Templates may not use {what} (line {line}).")
        return
    for child in node.iter_child_nodes():
        _walk(child, fields, problems)


def _parse(source: str, env: ImmutableSandboxedEnvironment) -> nodes.Template:
    try:
        return env.parse(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"The template cannot be read: {exc.message} (line {exc.lineno}).") from exc


def _inspect(source: str, env: ImmutableSandboxedEnvironment) -> tuple[nodes.Template, list[tuple[str, int]], list[str]]:
    tree = _parse(source, env)
    fields: list[tuple[str, int]] = []
    problems: list[str] = []
    _walk(tree, fields, problems)
    return tree, fields, problems


def template_fields(source: str) -> set[str]:
    """The dotted names a template refers to ("patient.first_name", "today", also unknown ones)."""
    _, fields, _ = _inspect(source, TEXT_ENV)
    return {name for name, _ in fields}


def _field_problems(fields: list[tuple[str, int]], *, kind: str) -> list[str]:
    problems = []
    for name, line in fields:
        if name in merge.NAMESPACES and name not in merge.CATALOGUE:
            example = merge.fields_of(name)[0].key
            problems.append(f"'{name}' is a group of merge fields; use one of them, such as {example} (line {line}).")
        elif name not in merge.CATALOGUE:
            problems.append(f"Unknown merge field '{name}' (line {line}).")
        elif kind == TemplateKind.SMS and name not in merge.SMS_SAFE_FIELDS:
            problems.append(f"The merge field '{name}' may not go in a text message: a lock screen shows it to "
                            f"anyone nearby (line {line}).")
    return problems


class _HtmlCheck(HTMLParser):
    """Finds tags, attributes and link targets the sanitiser would remove, so the author hears about them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"The HTML tag <{tag}> is not allowed (line {line}).")
            return
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"Event handlers such as {name}= are not allowed (line {line}).")
            elif name not in ALLOWED_ATTRIBUTES.get(tag, set()):
                self.problems.append(f"The attribute {name}= is not allowed on <{tag}> (line {line}).")
            elif name == "href":
                target = re.sub(r"[\s\x00-\x1f]", "", unescape(value or "")).lower()
                if not (target.startswith(("https:", "mailto:")) or re.fullmatch(r"\{\{links\.[a-z_]+\}\}", target)):
                    self.problems.append(f"Links must start with https: or mailto: or be a links.* field (line {line}).")

    handle_startendtag = handle_starttag


def _source_problems(source: str, *, kind: str, what: str) -> tuple[list[str], list[str]]:
    """(problems, merge fields) of one part of a template (subject or body)."""
    if len(source) > MAX_SOURCE_CHARS:
        return [f"The {what} is {len(source):,} characters; the limit is {MAX_SOURCE_CHARS:,}."], []
    env = HTML_ENV if kind in HTML_KINDS and what == "body" else TEXT_ENV
    tree, fields, problems = _inspect(source, env)
    problems += _field_problems(fields, kind=kind)
    if kind in HTML_KINDS and what == "body":
        checker = _HtmlCheck()
        checker.feed(source)
        checker.close()
        problems += checker.problems
    if kind == TemplateKind.SMS:
        static = " ".join(n.data for n in tree.find_all(nodes.TemplateData))
        from .services.outbox import sms_sensitive_problem

        if reason := sms_sensitive_problem(static):
            problems.append(reason)
    return problems, [name for name, _ in fields]


def template_check(*, kind: str, subject: str, body: str) -> list[str]:
    """The merge fields a template uses (sorted), or a ValidationError naming each problem by field and line:
    unknown merge fields, syntax errors, anything outside the allowed syntax, unsafe HTML, and for text
    messages sensitive fields or words."""
    if kind not in TemplateKind.values:
        raise ValidationError({"kind": f"Unknown kind '{kind}'."})
    errors: dict[str, list[str]] = {}
    used: set[str] = set()
    if not (body or "").strip():
        errors["body"] = ["Write the wording of the template."]
    for what, source in (("subject", subject or ""), ("body", body or "")):
        if what == "body" and "body" in errors:
            continue
        try:
            problems, fields = _source_problems(source, kind=kind, what=what)
        except ValidationError as exc:
            problems, fields = exc.messages, []
        if problems:
            errors[what] = problems
        used.update(fields)
    if kind == TemplateKind.EMAIL and not (subject or "").strip():
        errors.setdefault("subject", []).append("An e-mail needs a subject.")
    if errors:
        raise ValidationError(errors)
    return sorted(used)


# --- rendering ------------------------------------------------------------------------------------------------

# A body written with its own paragraphs; otherwise blank lines make the paragraphs.
_HAS_BLOCKS = re.compile(r"<\s*(p|ul|ol|h2|h3|table)\b", re.IGNORECASE)


def _url_schemes() -> set[str]:
    # A practice served over plain http (the embedded mode on one laptop) gets working links to its own pages;
    # a template's own links are still held to https at save (template_check), so this admits only our links.
    from django.conf import settings

    base = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    return URL_SCHEMES | {"http"} if base.startswith("http://") else URL_SCHEMES


def sanitize_html(html: str) -> str:
    """The allow-listed HTML of a letter or e-mail (nh3): no script, no styles, links https or mailto only
    (and http when the practice itself is served over http)."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=_url_schemes(),
                     link_rel="noopener noreferrer", strip_comments=True)


def _paragraphs(text: str) -> str:
    """Plain text (no tags) as HTML paragraphs: blank lines part paragraphs, single line breaks stay."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    return "".join(f"<p>{'<br>'.join(b.splitlines())}</p>" for b in blocks)


def html_to_text(html: str) -> str:
    """The plain-text version of sanitised HTML (the text part of an e-mail; the letter's search text)."""
    text = re.sub(r'<a href="([^"]*)"[^>]*>(.*?)</a>',
                  lambda m: m.group(2) if unescape(m.group(1)) in unescape(m.group(2)) else f"{m.group(2)} ({m.group(1)})",
                  html, flags=re.DOTALL)
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = re.sub(r"<li[^>]*>", "- ", text)
    text = re.sub(r"</(p|h2|h3|ul|ol|table)>", "\n\n", text)
    text = re.sub(r"</(li|tr)>", "\n", text)
    text = re.sub(r"</t[dh]>", "\t", text)
    text = unescape(re.sub(r"<[^>]+>", "", text))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool):
    # A version's wording never changes, so a reminder run compiles each wording once, not once per patient.
    return (HTML_ENV if autoescape else TEXT_ENV).from_string(source)


@lru_cache(maxsize=512)
def _checked(kind: str, subject: str, body: str) -> None:
    # Only wordings that pass are remembered (a refusal raises and is not cached), so the check still runs
    # before any wording is first used in this process.
    template_check(kind=kind, subject=subject, body=body)


def _render_one(source: str, context: dict, env: ImmutableSandboxedEnvironment, what: str) -> str:
    try:
        return _compiled(source, env is HTML_ENV).render(context)
    except (UndefinedError, SecurityError) as exc:
        raise ValidationError({what: f"The template uses something it may not: {exc.message}"}) from exc
    except TemplateError as exc:
        raise ValidationError({what: f"The template could not be filled in: {exc.message}"}) from exc


def render(version_or_source, context: dict, *, kind: str, subject: str | None = None) -> Rendered:
    """Fill a template (a TemplateVersion, or the body's source with `subject`) with a merge context.

    The template is checked again first, so a stored wording that breaks the rules is refused, not run.
    Letters and e-mails give sanitised HTML plus its text version; text messages give text.
    """
    if isinstance(version_or_source, str):
        body, subject = version_or_source, subject or ""
    else:
        body, subject = version_or_source.body, version_or_source.subject if subject is None else subject
    _checked(kind, subject or "", body)
    filled_subject = " ".join(_render_one(subject, context, TEXT_ENV, "subject").split()) if subject else ""
    if kind == TemplateKind.SMS:
        text = _render_one(body, context, TEXT_ENV, "body").strip()
        return Rendered(subject=filled_subject, text=text, html="")
    filled = _render_one(body, context, HTML_ENV, "body")
    if not _HAS_BLOCKS.search(body):
        filled = _paragraphs(filled)
    html = sanitize_html(filled)
    return Rendered(subject=filled_subject, text=html_to_text(html), html=html)
