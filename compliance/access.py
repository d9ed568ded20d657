"""Who may do what, and where: one policy for the web pages, the CLI and the API.

Every operation calls `require()` with the actor and the jurisdiction of what it touches (the rows it has
loaded anyway). Something outside the actor's jurisdiction is refused with the same NotFound as something that
does not exist, so ids cannot be probed; inside it, a role that lacks the permission gets Forbidden.
"""
from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from compliance.errors import Forbidden, NotFound
from compliance.models import Jurisdiction, Role, User


class Permission(StrEnum):
    VIEW = "view"                            #: read cases, enterprises, notices, deadlines in scope
    REGISTER_ENTERPRISE = "register_enterprise"
    OPEN_CASE = "open_case"
    WORK_CASE = "work_case"                  #: take a step of the ladder, attach evidence
    EDIT_DRAFT = "edit_draft"                #: complete a draft notice's facts
    APPROVE_NOTICE = "approve_notice"        #: approve or send back (four eyes: never a draft one drafted or edited)
    ISSUE_NOTICE = "issue_notice"            #: number, render and archive an approved notice
    WITHDRAW_NOTICE = "withdraw_notice"      #: draft the withdrawal of an issued notice
    MANAGE_USERS = "manage_users"            #: accounts, roles, passwords, locks, sessions
    MANAGE_ISSUERS = "manage_issuers"        #: the committees' letterheads and signatories
    ENTER_HOLIDAYS = "enter_holidays"        #: the national holiday calendar (city-level admins only)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Permission.VIEW: "查看案件", Permission.REGISTER_ENTERPRISE: "登记企业", Permission.OPEN_CASE: "立案",
    Permission.WORK_CASE: "办理案件", Permission.EDIT_DRAFT: "修改文书草稿", Permission.APPROVE_NOTICE: "审批文书",
    Permission.ISSUE_NOTICE: "签发文书", Permission.WITHDRAW_NOTICE: "撤回文书", Permission.MANAGE_USERS: "管理用户",
    Permission.MANAGE_ISSUERS: "管理文书抬头", Permission.ENTER_HOLIDAYS: "录入节假日安排",
}

#: The whole policy. Admins manage accounts and letterheads but do not read case files; auditors only read.
ROLE_PERMISSIONS = MappingProxyType({
    Role.SUPERVISOR: frozenset({Permission.VIEW, Permission.REGISTER_ENTERPRISE, Permission.OPEN_CASE,
                                Permission.WORK_CASE, Permission.EDIT_DRAFT, Permission.ISSUE_NOTICE,
                                Permission.WITHDRAW_NOTICE}),
    Role.APPROVER: frozenset({Permission.VIEW, Permission.EDIT_DRAFT, Permission.APPROVE_NOTICE,
                              Permission.ISSUE_NOTICE, Permission.WITHDRAW_NOTICE}),
    Role.ADMIN: frozenset({Permission.MANAGE_USERS, Permission.MANAGE_ISSUERS, Permission.ENTER_HOLIDAYS}),
    Role.AUDITOR: frozenset({Permission.VIEW}),
})

#: Permissions that apply to the whole country's calendar, not a subtree: only a city-level account holds them.
CITY_ONLY = frozenset({Permission.ENTER_HOLIDAYS})


def permissions(user: User | None) -> frozenset[Permission]:
    """What the user's roles allow (nothing for a missing or deactivated account)."""
    if user is None or not user.is_active:
        return frozenset()
    out: frozenset[Permission] = frozenset()
    for role in user.roles:
        out |= ROLE_PERMISSIONS[role]
    if user.jurisdiction.parent_id is not None:
        out -= CITY_ONLY
    return out


def can(user: User | None, permission: Permission, jurisdiction: Jurisdiction | None = None) -> bool:
    """True when the user holds the permission and, if given, the jurisdiction lies in their scope."""
    if permission not in permissions(user):
        return False
    return jurisdiction is None or in_scope(user, jurisdiction)


def in_scope(user: User, jurisdiction: Jurisdiction) -> bool:
    """The jurisdiction is the user's own or lies below it."""
    return jurisdiction.path.startswith(user.jurisdiction.path)


def require(user: User | None, permission: Permission, *jurisdictions: Jurisdiction, absent: str) -> None:
    """Refuse unless the user holds the permission over every jurisdiction given.

    absent: the message for "not found" — the same text the caller uses for a missing row.
    """
    if user is None:
        raise Forbidden("须以有效账号操作（--by 登录名）")
    if not user.is_active:
        raise Forbidden(f"账号 {user.login} 已停用")
    if any(not in_scope(user, j) for j in jurisdictions):
        raise NotFound(absent)
    if permission not in permissions(user):
        roles = "、".join(r.label for r in sorted(user.roles)) or "无角色"
        raise Forbidden(f"您的角色（{roles}）不能{permission.label}")
