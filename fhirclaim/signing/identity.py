"""Who signs: a hospital (tenant) named by its Kemkes organization id — in its certificate and in `Signature.who`.

The certificate names the hospital twice: in the subject (CN and organizationIdentifier) and, the part a verifier
matches, as a URI subjectAltName `http://sys-ids.kemkes.go.id/organization/<org id>`. `Signature.who` is a Reference
to the hospital's Organization (`Organization/<org id>`, with the same id as an identifier). Da Vinci CDex asks the
verifier to check that the two name the same party; `who_problem` is that check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

ORGANIZATION_SYSTEM = "http://sys-ids.kemkes.go.id/organization"
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
_ORGANIZATION_REFERENCE = re.compile(r"(?:^|/)Organization/([A-Za-z0-9\-.]{1,64})$")

@dataclass(frozen=True)
class SignerIdentity:
    """A hospital as a signer: its organization id (the tenant) and, for the certificate subject, its name."""

    org: str
    name: str | None = None

    @property
    def uri(self) -> str:
        """The subjectAltName URI that names this hospital."""
        return f"{ORGANIZATION_SYSTEM}/{self.org}"

    @property
    def subject(self) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, (self.name or f"Organization {self.org}")[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, self.org),
        ])

    def who(self, display: str | None = None) -> dict[str, Any]:
        """`Signature.who`: the Organization, by reference and by its Kemkes identifier."""
        who: dict[str, Any] = {"reference": f"Organization/{self.org}",
                               "identifier": {"system": ORGANIZATION_SYSTEM, "value": self.org}}
        if display or self.name:
            who["display"] = display or self.name
        return who


def organization_of(who: Any) -> str | None:
    """The organization id a Reference names (`Organization/<id>`, relative or absolute), else None."""
    if not isinstance(who, dict):
        return None
    reference = who.get("reference")
    match = _ORGANIZATION_REFERENCE.search(reference) if isinstance(reference, str) else None
    return match.group(1) if match else None


def san_uris(certificate: x509.Certificate) -> list[str]:
    """The URI subjectAltNames of a certificate (empty when it has none)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return names.get_values_for_type(x509.UniformResourceIdentifier)


def who_problem(who: Any, certificate: x509.Certificate) -> str | None:
    """None when `Signature.who` names the party the certificate's SAN names; otherwise what does not match."""
    claimed = _claimed_uris(who)
    if not claimed:
        return "Signature.who names no Organization (a reference Organization/<id> or an identifier)"
    certified = set(san_uris(certificate))
    if not certified:
        return "the signer's certificate names no organization (no URI subjectAltName)"
    unmatched = sorted(claimed - certified)
    if unmatched:
        return (f"Signature.who names {', '.join(unmatched)} but the certificate is issued to "
                f"{', '.join(sorted(certified))}")
    return None


def _claimed_uris(who: Any) -> set[str]:
    """Every party `who` names, as SAN URIs: the Organization reference's id and each identifier."""
    if not isinstance(who, dict):
        return set()
    claimed = set()
    org = organization_of(who)
    if org:
        claimed.add(SignerIdentity(org).uri)
    identifier = who.get("identifier")
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        system = identifier.get("system") if isinstance(identifier.get("system"), str) else ""
        claimed.add(f"{system.rstrip('/')}/{identifier['value']}")
    return claimed
