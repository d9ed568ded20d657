"""WSGI entry for an external server: `gunicorn --no-control-socket compliance.wsgi:app`.

As `compliance serve` does, it refuses to start on PostgreSQL without a public base URL (or with a loopback one):
the letters' QR codes must lead the public to the service. Pass gunicorn `--no-control-socket` (or a
`--control-socket` path of this instance's own): its default path is shared by every instance of the user.
Without `--preload` every worker imports this module as it starts, and so sweeps the document store's staging
as `compliance serve`'s workers do (compliance.documents.recover_at_start).
"""
from compliance import create_app
from compliance.config import public_base_url
from compliance.documents import recover_at_start

app = create_app()
public_base_url(app.config)   # raises PublicBaseUrlMissing, naming the setting
recover_at_start(app)         # what killed processes left in the document store's staging (each worker, at start)
