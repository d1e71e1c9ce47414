"""Issues, OperationOutcomes and the one exception type that carries them.

Every layer reports problems as `Issue` values; the HTTP layer turns a raised `FhirError` into an
OperationOutcome response in one place. Codes are the R4 `issue-type` codes
(http://hl7.org/fhir/issue-type): invalid, structure, required, value, invariant, security, login, unknown,
expired, forbidden, processing, not-supported, duplicate, not-found, conflict, too-long, code-invalid,
business-rule, too-costly, exception, timeout, transient, lock-error, incomplete, informational.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("fatal", "error", "warning", "information")


@dataclass(frozen=True)
class Issue:
    """One finding: what is wrong (code + text), how bad (severity) and where (FHIRPath expressions)."""

    severity: str
    code: str
    text: str
    expression: tuple[str, ...] = ()
    details_code: str | None = None  # e.g. "E2012", "X-0-94-X", "PRECHECK-READMISSION"
    details_system: str | None = None

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code}
        details: dict[str, Any] = {"text": self.text}
        if self.details_code:
            coding = {"code": self.details_code}
            if self.details_system:
                coding["system"] = self.details_system
            details["coding"] = [coding]
        issue["details"] = details
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")


def error(code: str, text: str, *expression: str, details_code: str | None = None) -> Issue:
    return Issue("error", code, text, tuple(expression), details_code)


def warning(code: str, text: str, *expression: str, details_code: str | None = None) -> Issue:
    return Issue("warning", code, text, tuple(expression), details_code)


def information(text: str) -> Issue:
    return Issue("information", "informational", text)


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    issue_list = [i.to_fhir() for i in issues]
    if not issue_list:
        issue_list = [information("All OK").to_fhir()]
    return {"resourceType": "OperationOutcome", "issue": issue_list}


@dataclass
class FhirError(Exception):
    """A request the server refuses: an HTTP status and the issues that explain it."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.status, "; ".join(i.text for i in self.issues))

    @classmethod
    def of(cls, status: int, code: str, text: str, *expression: str, **kw: Any) -> FhirError:
        return cls(status, [error(code, text, *expression)], **kw)

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def not_found(resource_type: str, resource_id: str) -> FhirError:
    return FhirError.of(404, "not-found", f"{resource_type}/{resource_id} is not known")


def invalid(text: str, *expression: str) -> FhirError:
    return FhirError.of(400, "invalid", text, *expression)
