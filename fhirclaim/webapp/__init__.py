"""The claim unit's web app at `/app/` (issue 18): sign-in, the worklist, a claim page, the dashboard.

Server-rendered Jinja2 pages with a little progressive enhancement (`static/app.js`) and inline SVG charts: no
build step, nothing loaded from outside the package, usable offline. `views.py` is the Flask side; `accounts.py`,
`claim_page.py`, `dashboard.py` and `i18n.py` import no Flask. The worklist lines it lists are kept by
`fhirclaim.bpjs.worklist_projection` in each writing transaction; the web app only reads them.
"""
