"""A FHIR `Parameters` resource as an operation's input (`$validate`, `$verify-signature`), shape-checked before
any part of it is used: `parameter` must be an array of objects, each with a string `name`."""

from __future__ import annotations

from typing import Any

from fhirclaim.fhir.outcome import FhirError


def parameter_list(body: dict[str, Any]) -> list[dict[str, Any]]:
    """`Parameters.parameter`, or FhirError 400 when it is not an array of named objects."""
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise FhirError.of(400, "structure", "Parameters.parameter must be an array", "Parameters.parameter")
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise FhirError.of(400, "structure", f"Parameters.parameter[{index}] must be an object with a name",
                               f"Parameters.parameter[{index}]")
    return parameters


def named(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The first parameter called `name`, or None."""
    return next((p for p in parameter_list(body) if p["name"] == name), None)


def resource(body: dict[str, Any], name: str = "resource") -> dict[str, Any]:
    """The resource of the parameter called `name`, or FhirError 400 when there is none."""
    found = (named(body, name) or {}).get("resource")
    if not isinstance(found, dict):
        raise FhirError.of(400, "required", f"Parameters has no '{name}' parameter with a resource",
                           "Parameters.parameter")
    return found
