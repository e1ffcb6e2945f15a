"""FHIR errors as OperationOutcome: every refusal names the element (`expression`) it is about.

Views raise `FhirError`; the dispatcher turns it into the response. Helpers translate the two kinds of
refusal the app meets: the FHIR models' structural errors (pydantic) and the services' `ValidationError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError as ModelError


@dataclass
class Issue:
    diagnostics: str
    code: str = "invalid"  # http://hl7.org/fhir/issue-type
    expression: list[str] = field(default_factory=list)
    severity: str = "error"

    def as_fhir(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = self.expression
        return issue


class FhirError(Exception):
    """A refusal with its HTTP status and the issues to report."""

    def __init__(self, status: int, issues: list[Issue] | Issue, *, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.issues = [issues] if isinstance(issues, Issue) else issues
        self.headers = headers or {}
        super().__init__("; ".join(i.diagnostics for i in self.issues))


def operation_outcome(issues: list[Issue]) -> dict:
    """An OperationOutcome resource (checked against the R4B model) listing the issues."""
    body = {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}
    return OperationOutcome.model_validate(body).model_dump(mode="json", exclude_none=True)


def element_path(resource_type: str, loc: tuple) -> str:
    """('participant', 0, 'actor') -> 'Appointment.participant[0].actor' (FHIRPath, as `expression` wants)."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        elif part not in ("", "__root__"):
            path += f".{part}"
    return path


def from_model_error(exc: ModelError, resource_type: str) -> FhirError:
    """The FHIR model refused the resource's structure: 400, one issue per element."""
    issues = []
    for error in exc.errors():
        message = " ".join(str(error.get("msg", "Invalid value.")).split())
        kind = error.get("type", "")
        code = "required" if kind == "missing" else "structure" if kind in ("extra_forbidden", "model_type") else "value"
        issues.append(Issue(message, code=code, expression=[element_path(resource_type, tuple(error.get("loc", ())))]))
    return FhirError(400, issues)


def from_validation_error(exc: ValidationError, paths: dict[str, str], fallback: str, *, status: int = 422,
                          code: str = "business-rule") -> FhirError:
    """A service refused the change: each field it named becomes the FHIR element it came from (`paths`)."""
    if not hasattr(exc, "error_dict"):
        return FhirError(status, [Issue(m, code=code, expression=[fallback]) for m in exc.messages])
    issues = []
    for name, messages in exc.message_dict.items():
        for message in messages:
            issues.append(Issue(message, code=code, expression=[paths.get(name, fallback)]))
    return FhirError(status, issues)
