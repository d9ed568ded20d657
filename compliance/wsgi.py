"""WSGI entry for an external server: `gunicorn compliance.wsgi:app`."""
from compliance import create_app

app = create_app()
