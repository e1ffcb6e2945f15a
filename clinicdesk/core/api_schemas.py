"""The schemas every app's REST API shares: strict input, and the two shapes an error answer takes."""

from ninja import Schema
from pydantic import ConfigDict


class Strict(Schema):
    """Input schemas refuse fields they do not know, so a typo is a 400 naming it rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorsOut(Schema):
    """A refused change: each field (or `__all__`) with its messages."""

    errors: dict[str, list[str]]


class DetailOut(Schema):
    """A refusal that is about the request as a whole: not found, not allowed, a conflict."""

    detail: str
