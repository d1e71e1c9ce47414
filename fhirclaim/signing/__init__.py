"""Digital signatures of claim Bundles (architecture §6): keys, detached JWS over RFC 8785 canonical JSON, JWKS.

Public API (everything else is internal):

    keys.SigningKeyStore(directory, alg="RS256" | "ES256", passphrase: bytes | None = None, *, subject=...)
        .load_or_create() -> SigningKey      at start: loads the current key, creates key + certificate if none
        .current -> SigningKey               the key new signatures use (kid = RFC 7638 thumbprint, alg, x5c)
        .rotate() -> SigningKey              a new current key; old public keys stay in the JWKS
        .jwks() -> dict                      JWK Set to serve at /fhir/.well-known/jwks.json (public keys only)
    keys.SigningKeyError                     the key directory cannot be used (passphrase, damaged files)

    jws.canonical_bytes(bundle, method=DOCUMENT) -> bytes
        RFC 8785 bytes of the Bundle without id, meta and signature (`…/canonicalization/json#document`)
    jws.sign_bundle(bundle, key, *, who, when=None, sig_type_code="1.2.840.10065.1.12.1.5") -> dict
        a copy of the Bundle with Bundle.signature (detached RS256/ES256 JWS, x5c + kid, sigT = when)

    verify.verify_bundle(bundle, jwks=None) -> VerificationResult(valid, reason, kid, alg, signer)
        never raises; `reason` says which check failed. `.to_operation_outcome()` gives the body for
        POST /fhir/Bundle/$verify-signature.

Typical use in the server::

    store = SigningKeyStore(settings.data_dir / "signing", alg=settings.signing_alg)
    store.load_or_create()
    signed = sign_bundle(bundle, store.current, who={"reference": "Organization/rs-1"})
    verify_bundle(signed, store.jwks()).valid  # True

Signed bytes and header follow the HL7 signed-Bundle example and Da Vinci CDex (see jws.py); `verify_bundle` also
accepts Bundles signed with the plain `…/canonicalization/json` method, as the HL7 example is.
"""

from fhirclaim.signing.canonical import DOCUMENT, canonical_bytes
from fhirclaim.signing.jws import sign_bundle
from fhirclaim.signing.keys import SigningKey, SigningKeyError, SigningKeyStore
from fhirclaim.signing.verify import VerificationResult, verify_bundle

__all__ = [
    "DOCUMENT",
    "SigningKey",
    "SigningKeyError",
    "SigningKeyStore",
    "VerificationResult",
    "canonical_bytes",
    "sign_bundle",
    "verify_bundle",
]
