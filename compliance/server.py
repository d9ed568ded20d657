"""Production server: gunicorn, configured in code so `compliance serve` needs no extra files."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict, config: dict | None = None):
        self.options = options
        self.config = config or {}
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """In each worker as it starts (no preload): the app, then the sweep of what killed processes left in the
        document store's staging (a worker gunicorn restarts after a timeout or a crash left its own)."""
        from compliance import create_app
        from compliance.documents import recover_at_start
        app = create_app(self.config or None)
        recover_at_start(app)
        return app


def gunicorn_options(*, host: str, port: int, workers: int, threads: int = 4,
                     control_socket: str | None = None) -> dict:
    """gunicorn's settings. Its control socket defaults to one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
    ~/.gunicorn/gunicorn.ctl), shared by every instance that user runs: the second binds over the first's and
    stopping either removes the other's. So none, unless this instance names its own (CONTROL_SOCKET)."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-",
               "timeout": 120, "worker_class": "gthread"}
    if control_socket:
        options["control_socket"] = control_socket
    else:
        options["control_socket_disable"] = True
    return options


def run_gunicorn(*, host: str, port: int, workers: int, threads: int = 4, control_socket: str | None = None,
                 config: dict | None = None) -> None:
    """Serve until stopped; `config` overrides the app's (the public base URL `serve` settled on)."""
    _Gunicorn(gunicorn_options(host=host, port=port, workers=workers, threads=threads,
                               control_socket=control_socket), config).run()
