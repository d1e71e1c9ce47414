"""Digital signatures of claim Bundles (architecture §6): keys, detached JWS over RFC 8785 canonical JSON, JWKS.

Public API (everything else is internal):

    hospitals.HospitalSigning(directory, alg="RS256" | "ES256", passphrase=None)   the runtime's one instance
        .load()                              at start: the CA (made on first start) and every hospital's keys
        .sign(bundle, who) -> dict           signed by the hospital `who` = Organization/<org> names, its own key
        .rotate(org) / .revoke(org, reason=…) / .csr_pem(org) / .install_certificate(org, pem)
        .add_trust_anchor(pem) / .trust_anchors() / .trust_policy() -> TrustPolicy / .jwks()
    authority.CertificateAuthority           the installation's CA: issue, revoke, CRL
    keys.SigningKeyStore(directory, alg, passphrase=None, *, certify=None)   one hospital's keys (or a lone store)
        .load_or_create() / .current / .rotate() / .jwks() / .install_certificate(chain) / .csr(subject, uri)
    keys.SigningKeyError                     the key directory cannot be used (passphrase, damaged files)

    canonical.canonical_bytes(bundle, method=DOCUMENT) -> bytes
        RFC 8785 bytes of the Bundle without id, meta and signature (`…/canonicalization/json#document`)
    jws.sign_bundle(bundle, key, *, who, when=None, sig_type_code="1.2.840.10065.1.12.1.5") -> dict
        a copy of the Bundle with Bundle.signature (detached RS256/ES256 JWS, x5c chain + kid, sigT = when)

    verify.verify_bundle(bundle, jwks=None, *, trust=None, integrity_only=False) -> VerificationResult
        three findings — integrity (content unchanged), trust (x5c chain ends at an anchor of `trust`, valid and
        not revoked at sigT; or the key is in `jwks`), identity (Signature.who = the certificate's SAN); valid
        only when all hold. Never raises. `.to_operation_outcome()` is the body of POST /fhir/Bundle/$verify-signature.

Typical use::

    signing = HospitalSigning(settings.data_dir / "signing", alg=settings.signing_alg)
    signing.load()
    signed = signing.sign(bundle, {"reference": "Organization/10000004"})
    verify_bundle(signed, trust=signing.trust_policy()).valid  # True
    verify_bundle(signed, trust=TrustPolicy.from_pem([published_anchors_pem])).valid  # True, offline

Signed bytes and header follow the HL7 signed-Bundle example and Da Vinci CDex (see jws.py); `verify_bundle` also
accepts Bundles signed with the plain `…/canonicalization/json` method, as the HL7 example is.
"""

from fhirclaim.signing.canonical import DOCUMENT, canonical_bytes
from fhirclaim.signing.hospitals import HospitalSigning
from fhirclaim.signing.identity import SignerIdentity
from fhirclaim.signing.jws import sign_bundle
from fhirclaim.signing.keys import SigningKey, SigningKeyError, SigningKeyStore
from fhirclaim.signing.trust import TrustPolicy
from fhirclaim.signing.verify import VerificationResult, verify_bundle

__all__ = [
    "DOCUMENT",
    "HospitalSigning",
    "SignerIdentity",
    "TrustPolicy",
    "SigningKey",
    "SigningKeyError",
    "SigningKeyStore",
    "VerificationResult",
    "canonical_bytes",
    "sign_bundle",
    "verify_bundle",
]
