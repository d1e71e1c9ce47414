"""Precheck rule families (architecture §9, docs/prechecks.md): one module per family, each rule a small function
of a `Case` returning `Finding`s; `fhirclaim.claims.precheck` registers them by rule id and turns findings into
issues. Tables live in `fhirclaim/claims/data/precheck/`, each with its source."""
