"""What the reminder jobs read from configuration, checked once with messages an operator can act on.

Keys (instance/config.py or COMPLIANCE_<KEY> environment variables):

REMINDER_LEAD_DAYS          {rule_key: working days}: when "approaching" is sent, per deadline rule (default 3)
REMINDER_DEFAULT_LEAD_DAYS  the lead for every other rule (3)
UNION_FUNDS_DUE_DAY         union funds are paid by this day of each month (15; BJM Art 55(2))
UNION_FUNDS_DUE_DAY_ON_TIME a payment on the due day itself is on time (True: the check runs the next working
                            day; False: the due day is already late, the check runs on it); as the arrears count it
PUBLIC_BASE_URL             the links in mails: PUBLIC_BASE_URL + /cases/7
SMTP_HOST                   no host: no e-mail (the in-app inbox still gets everything)
SMTP_PORT, SMTP_SECURITY    none | starttls | tls (default starttls; port 587, 465 for tls, 25 for none)
SMTP_USERNAME, SMTP_PASSWORD, MAIL_FROM, SMTP_TIMEOUT_SECONDS
OUTBOX_MAX_ATTEMPTS         tries before a message is marked failed (8); OUTBOX_RETRY_SECONDS the first wait (60)
REMINDER_CHUNK              deadlines decided per transaction (500)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from flask import current_app, has_app_context

from workflows.deadlines import DEFAULT_RULES

SECURITY_MODES = ("none", "starttls", "tls")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
MAX_LEAD_DAYS = 30


@dataclass(frozen=True)
class ReminderSettings:
    lead_days: Mapping[str, int] = field(default_factory=dict)
    default_lead_days: int = 3
    union_funds_due_day: int = 15
    union_funds_due_day_on_time: bool = True
    public_base_url: str = "http://127.0.0.1:5000"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "noreply@localhost"
    smtp_timeout: float = 30.0
    max_attempts: int = 8
    retry_seconds: int = 60
    chunk: int = 500

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    def lead_for(self, rule_key: str) -> int:
        return self.lead_days.get(rule_key, self.default_lead_days)

    def link(self, path: str) -> str:
        """An absolute link for a mail: the configured public base URL and a path of this site."""
        return self.public_base_url.rstrip("/") + path

    @classmethod
    def from_config(cls, config: Mapping) -> ReminderSettings:
        """The settings, or a ValueError naming the key that is wrong."""
        lead = config.get("REMINDER_LEAD_DAYS") or {}
        if not isinstance(lead, Mapping):
            raise ValueError(f"REMINDER_LEAD_DAYS must map deadline rules to working days, not {lead!r}")
        known = set(DEFAULT_RULES) | set(config.get("DEADLINE_RULES") or {})
        for key, days in lead.items():
            if key not in known:
                raise ValueError(f"REMINDER_LEAD_DAYS: unknown deadline rule {key!r}; known: {', '.join(sorted(known))}")
            _whole(f"REMINDER_LEAD_DAYS[{key!r}]", days, 0, MAX_LEAD_DAYS)
        security = str(config.get("SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        port = config.get("SMTP_PORT") or _DEFAULT_PORTS[security]
        base = str(config.get("PUBLIC_BASE_URL") or cls.public_base_url)
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"PUBLIC_BASE_URL must start with http:// or https://, not {base!r}")
        return cls(
            lead_days=MappingProxyType(dict(lead)),
            default_lead_days=_whole("REMINDER_DEFAULT_LEAD_DAYS", config.get("REMINDER_DEFAULT_LEAD_DAYS", 3), 0,
                                     MAX_LEAD_DAYS),
            union_funds_due_day=_whole("UNION_FUNDS_DUE_DAY", config.get("UNION_FUNDS_DUE_DAY", 15), 1, 27),
            union_funds_due_day_on_time=_flag("UNION_FUNDS_DUE_DAY_ON_TIME",
                                              config.get("UNION_FUNDS_DUE_DAY_ON_TIME", True)),
            public_base_url=base,
            smtp_host=str(config.get("SMTP_HOST") or ""),
            smtp_port=_whole("SMTP_PORT", port, 1, 65535),
            smtp_security=security,
            smtp_username=str(config.get("SMTP_USERNAME") or ""),
            smtp_password=str(config.get("SMTP_PASSWORD") or ""),
            mail_from=str(config.get("MAIL_FROM") or cls.mail_from),
            smtp_timeout=float(config.get("SMTP_TIMEOUT_SECONDS") or 30.0),
            max_attempts=_whole("OUTBOX_MAX_ATTEMPTS", config.get("OUTBOX_MAX_ATTEMPTS", 8), 1, 100),
            retry_seconds=_whole("OUTBOX_RETRY_SECONDS", config.get("OUTBOX_RETRY_SECONDS", 60), 1, 86400),
            chunk=_whole("REMINDER_CHUNK", config.get("REMINDER_CHUNK", 500), 1, 5000),
        )


def _flag(name: str, value) -> bool:
    """A yes/no setting: a bool, or true/false/1/0/yes/no as an environment variable gives it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def current_settings() -> ReminderSettings:
    """The running app's settings (the defaults outside an app)."""
    if has_app_context():
        return ReminderSettings.from_config(current_app.config)
    return ReminderSettings()
