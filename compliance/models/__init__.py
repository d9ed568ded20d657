"""The data model, one module per concept. Importing this package registers every table."""
from compliance.models.base import utcnow  # noqa: F401
from compliance.models.jurisdiction import Jurisdiction, JurisdictionLevel  # noqa: F401
from compliance.models.user import Role, User, UserRole  # noqa: F401
from compliance.models.enterprise import Enterprise  # noqa: F401
from compliance.models.case import Case, CaseAssignment, CaseViolation  # noqa: F401
from compliance.models.case_event import AppendOnlyViolation, CaseEvent  # noqa: F401
from compliance.models.deadline import PENDING_STATUSES, Deadline, DeadlineStatus  # noqa: F401
from compliance.models.holiday import HolidayOverrideRow, HolidayYear  # noqa: F401
from compliance.models.notice import Notice, NoticeStatus, StoredDocument  # noqa: F401
from compliance.models.attachment import Attachment  # noqa: F401
from compliance.models.sequence import SequenceCounter, next_seq  # noqa: F401
from compliance.models.access import AdminEvent, LoginThrottle, UserSession  # noqa: F401
from compliance.models.reminder import InboxMessage, OutboxMessage, OutboxStatus, Reminder, ReminderKind  # noqa: F401
from compliance.models.api import ApiToken, IdempotencyKey  # noqa: F401
from compliance.models.service import NoticeService, ServiceMethod  # noqa: F401
