"""Who is calling and what they may do: OAuth2 client credentials, bearer tokens, roles and tenants, audit.

No Flask here: the HTTP layer (`fhirclaim/api/auth.py`) turns a request into a `Principal` with these functions and
hands the resulting `Scope` and authorizer to the FHIR service, so that REST, operations and transaction entries
pass the same checks.
"""
