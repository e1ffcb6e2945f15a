"""Every URL pattern of the site, flattened, with what it declares and a way to build its URL from kwargs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize
from ninja.operation import PathView

from clinicdesk.core.access import view_access
from clinicdesk.core.api_auth import API_ACCESS_ATTR
from clinicdesk.core.middleware import is_self_guarded, view_module

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ApiOperation:
    methods: tuple[str, ...]
    view_func: Callable
    codes: tuple[str, ...] | None  # None: no api_requires declaration

    @property
    def label(self) -> str:
        return f"{'/'.join(self.methods)} {self.view_func.__module__}.{self.view_func.__name__}"


@dataclass(frozen=True)
class Route:
    regex: str  # the whole path as one regex, without anchors
    name: str | None  # with namespaces, e.g. "core:user_list"
    callback: Callable
    kwarg_names: tuple[str, ...]
    converters: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return self.name or self.regex

    @property
    def access(self):
        return view_access(self.callback)

    @property
    def api_operations(self) -> list[ApiOperation]:
        """The django-ninja operations behind this pattern ([] when it is not an API route)."""
        path_view = _path_view_of(self.callback)
        if path_view is None:
            return []
        return [
            ApiOperation(tuple(m.upper() for m in op.methods), op.view_func, getattr(op.view_func, API_ACCESS_ATTR, None))
            for op in path_view.operations
        ]

    @property
    def module(self) -> str:
        return view_module(self.callback)

    @property
    def self_guarded(self) -> bool:
        return is_self_guarded(self.callback)

    @property
    def is_admin(self) -> bool:
        return self.regex.startswith("admin/")

    @property
    def is_account(self) -> bool:
        return self.module.startswith("allauth.")

    def url(self, kwargs: dict[str, object]) -> str:
        """Build the URL the way `reverse` does, then check that it resolves back to this view."""
        wanted = set(self.kwarg_names)
        for fmt, params in normalize(self.regex):
            if set(params) == wanted:
                values = {}
                for name in params:
                    converter = self.converters.get(name)
                    values[name] = converter.to_url(kwargs[name]) if converter else str(kwargs[name])
                url = "/" + fmt % values
                match = resolve(url)
                same_api_path = _path_view_of(self.callback) is not None and (
                    _path_view_of(match.func) is _path_view_of(self.callback)
                )
                if match.func is not self.callback and not same_api_path:
                    raise AssertionError(f"{url} resolves to {match.func!r}, not to {self.label}")
                return url
        raise AssertionError(f"cannot build a URL for {self.label} from {sorted(wanted)}")


def _strip(regex: str) -> str:
    regex = regex[1:] if regex.startswith("^") else regex
    for end in (r"\Z", "$"):
        if regex.endswith(end):
            regex = regex[: -len(end)]
    return regex


def _path_view_of(callback: Callable) -> PathView | None:
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, PathView):
            return value
    return None


def walk(patterns=None, prefix: str = "", namespace: str | None = None, converters: dict | None = None) -> Iterator[Route]:
    """Every URL pattern, recursively through includes (the API's patterns are included like any other)."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    converters = converters or {}
    for entry in patterns:
        regex = prefix + _strip(entry.pattern.regex.pattern)
        found = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, regex, ns, found)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            kwarg_names = tuple(re.findall(r"\(\?P<(\w+)>", regex))
            yield Route(regex=regex, name=name, callback=entry.callback, kwarg_names=kwarg_names, converters=found)


def all_routes() -> list[Route]:
    """Every pattern once. django-ninja adds one pattern per operation of a path, all serving the
    same PathView (which dispatches on the method), so those are kept once with all their operations."""
    routes, seen = [], set()
    for route in walk():
        path_view = _path_view_of(route.callback)
        if path_view is not None:
            if id(path_view) in seen:
                continue
            seen.add(id(path_view))
        routes.append(route)
    return routes
