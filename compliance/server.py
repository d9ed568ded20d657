"""Production server: gunicorn, configured in code so `compliance serve` needs no extra files."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from compliance import create_app
        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int = 4) -> None:
    _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-",
               "timeout": 120, "worker_class": "gthread"}).run()
