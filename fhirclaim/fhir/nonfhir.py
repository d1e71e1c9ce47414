"""The non-FHIR resource types this server stores like FHIR ones (architecture §7): SATUSEHAT's PurificationDecision.

There is no R4B model for them, so a marshmallow schema takes the model's place in the validation stage: it checks
the shape (elements, datatypes, cardinality) and nothing else; what the values mean (which decision codes exist,
which ClaimResponse may be answered) is the BPJS-K rules' business (`fhirclaim.bpjs`). Every problem is reported,
each as an `Issue` whose FHIRPath expression is built from marshmallow's error dictionary.

The published JSON Schema of the same shape is `profiles/PurificationDecision.schema.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from fhirclaim.fhir import dates
from fhirclaim.fhir.outcome import Issue, error

# marshmallow's own messages, and ours: the issue type of an error is found by its message.
REQUIRED = fields.Field.default_error_messages["required"]
NULL = "must not be null (leave the element out instead)"
UNKNOWN = "is not an element of this resource"
NOT_AN_OBJECT = "must be a JSON object"
NOT_A_STRING = "must be a JSON string"
NOT_A_LIST = "must be a JSON array"
EMPTY = "must not be empty"
NO_CODING = "needs at least one coding"
NOT_A_DATETIME = "must be a FHIR dateTime with at least a day, e.g. 2026-07-27 or 2026-07-27T10:00:00+07:00"
NOT_AN_ID = "must be a FHIR id: 1 to 64 letters, digits, '-' or '.'"
NOT_THIS_TYPE = "must be 'PurificationDecision'"

_ISSUE_CODES = {
    REQUIRED: "required", NO_CODING: "required", NULL: "structure", UNKNOWN: "structure",
    NOT_AN_OBJECT: "structure", NOT_A_STRING: "structure", NOT_A_LIST: "structure", NOT_THIS_TYPE: "invalid",
}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$")
_ID = r"^[A-Za-z0-9\-.]{1,64}$"


# --- datatypes ---------------------------------------------------------------------------------------------------

class _Element(Schema):
    """Unknown elements are errors, as the R4B models make them; messages are the ones `_ISSUE_CODES` knows."""

    error_messages = {"unknown": UNKNOWN, "type": NOT_AN_OBJECT}


def _string(*, required: bool = False, **kwargs: Any) -> fields.String:
    messages = {"invalid": NOT_A_STRING, "null": NULL}
    return fields.String(required=required, error_messages=messages, **kwargs)


def _nested(schema: type[Schema], *, required: bool = False, many: bool = False, **kwargs: Any) -> fields.Field:
    if many:
        return fields.List(fields.Nested(schema, error_messages={"null": NULL}), required=required,
                           error_messages={"invalid": NOT_A_LIST, "null": NULL}, **kwargs)
    return fields.Nested(schema, required=required, error_messages={"null": NULL}, **kwargs)


class CodingSchema(_Element):
    system = _string(required=True, validate=validate.Length(min=1, error=EMPTY))
    version = _string()
    code = _string(required=True, validate=validate.Length(min=1, error=EMPTY))
    display = _string()
    userSelected = fields.Boolean(error_messages={"null": NULL})


class CodeableConceptSchema(_Element):
    coding = _nested(CodingSchema, required=True, many=True, validate=validate.Length(min=1, error=NO_CODING))
    text = _string()


class IdentifierSchema(_Element):
    use = _string(validate=validate.OneOf(("usual", "official", "temp", "secondary", "old")))
    system = _string(required=True, validate=validate.Length(min=1, error=EMPTY))
    value = _string(required=True, validate=validate.Length(min=1, error=EMPTY))


class ReferenceSchema(_Element):
    reference = _string(required=True, validate=validate.Length(min=1, error=EMPTY))
    display = _string()


def _datetime(value: str) -> None:
    """The pattern, and a real calendar day (2026-02-30 matches the pattern)."""
    if not _DATETIME.match(value):
        raise ValidationError(NOT_A_DATETIME)
    try:
        dates.to_range(value)
    except dates.DateFormatError:
        raise ValidationError(NOT_A_DATETIME) from None


def _literal(value: dict[str, Any], resource_type: str) -> None:
    """A relative reference `Type/id` to the one type the element allows (as SATUSEHAT sends them)."""
    if not re.fullmatch(rf"{resource_type}/{_ID[1:-1]}", value.get("reference", "")):
        raise ValidationError({"reference": [f"must be a reference of the form {resource_type}/{{id}}"]})


# --- PurificationDecision ----------------------------------------------------------------------------------------

class PurificationDecisionSchema(_Element):
    """The hospital's answer to a BPJS-K purification (shape: SATUSEHAT's NON-FHIR PurificationDecision).

    SATUSEHAT sends `identifier` as an array, so this server takes an array. `claimResponse` is 0..1 in the
    third-party FSH, but a decision answers exactly one purification: this server requires it.
    """

    resourceType = _string(required=True, validate=validate.Equal("PurificationDecision", error=NOT_THIS_TYPE))
    id = _string(validate=validate.Regexp(_ID, error=NOT_AN_ID))
    meta = fields.Dict(error_messages={"invalid": NOT_AN_OBJECT, "null": NULL})  # the server writes it
    identifier = _nested(IdentifierSchema, many=True)
    created = _string(required=True, validate=_datetime)
    status = _nested(CodeableConceptSchema, required=True)
    insurer = _nested(ReferenceSchema)
    provider = _nested(ReferenceSchema)
    claimResponse = _nested(ReferenceSchema, required=True)

    @validates("insurer", "provider")
    def _organization(self, value: dict[str, Any], data_key: str) -> None:
        _literal(value, "Organization")

    @validates("claimResponse")
    def _claim_response(self, value: dict[str, Any], data_key: str) -> None:
        _literal(value, "ClaimResponse")


SCHEMAS: dict[str, Schema] = {"PurificationDecision": PurificationDecisionSchema()}
TYPES = tuple(SCHEMAS)


def model_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    """Every shape problem of a non-FHIR resource, in the order marshmallow found them."""
    messages = SCHEMAS[resource_type].validate(resource)
    return [_issue(path, message) for path, message in _flatten(resource_type, messages)]


def _flatten(path: str, messages: Any) -> Iterator[tuple[str, str]]:
    """marshmallow's nested error dict ({"status": {"coding": {0: {"code": [...]}}}}) as (FHIRPath, message)."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                yield from _flatten(path, value)
            elif isinstance(key, int):
                yield from _flatten(f"{path}[{key}]", value)
            else:
                yield from _flatten(f"{path}.{key}", value)
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(path, message)
    else:
        yield path, str(messages)


def _issue(path: str, message: str) -> Issue:
    code = _ISSUE_CODES.get(message, "value")
    text = f"Unknown element '{path.rsplit('.', 1)[-1]}'" if message == UNKNOWN else f"{path} {message}"
    if message == REQUIRED:
        text = f"{path} is required"
    return error(code, text, path)
