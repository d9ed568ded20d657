"""WSGI entry for an external server: `gunicorn --no-control-socket compliance.wsgi:app`.

As `compliance serve` does, it refuses to start on PostgreSQL without a public base URL (or with a loopback one):
the letters' QR codes must lead the public to the service. Pass gunicorn `--no-control-socket` (or a
`--control-socket` path of this instance's own): its default path is shared by every instance of the user.
"""
from compliance import create_app
from compliance.config import public_base_url

app = create_app()
public_base_url(app.config)   # raises PublicBaseUrlMissing, naming the setting
