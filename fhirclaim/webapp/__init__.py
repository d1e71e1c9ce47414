"""The claim unit's web app at `/app/` (issue 18): sign-in, the worklist, a claim page, the dashboard.

Server-rendered Jinja2 pages with a little progressive enhancement (`static/app.js`) and inline SVG charts: no
build step, nothing loaded from outside the package, usable offline. `views.py` is the Flask side; `worklist.py`,
`accounts.py`, `claim_page.py`, `dashboard.py` and `i18n.py` import no Flask.
"""
