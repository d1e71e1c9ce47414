"""Digital signatures of claim Bundles: keys, detached JWS over RFC 8785 canonical JSON, JWKS."""
