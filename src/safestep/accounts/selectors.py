"""Reading accounts and schools for the district coordinator's administration area.

Only a role that manages accounts (``ACCOUNTS_MANAGE``) reads them here; anyone else is
refused (PermissionDenied), whatever they asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import ApiToken, AuthenticatorDevice, Role, School, User
from safestep.core.errors import NotFound, PermissionDenied

# The longest list of accounts one page shows: a filter narrows it.
USER_LIST_LIMIT = 500
USER_STATUSES = ("active", "inactive", "all")


def _require_manager(user: User) -> None:
    if not has_capability(user, Capability.ACCOUNTS_MANAGE):
        raise PermissionDenied(
            gettext("your role (%(role)s) may not manage accounts") % {"role": user.role}
        )


def users_for_manager(
    user: User,
    *,
    text: str = "",
    role: str = "",
    school: str = "",
    status: str = "active",
    limit: int = USER_LIST_LIMIT,
) -> QuerySet[User]:
    """Accounts matching the filters: TEXT in the username, name or e-mail address; a ROLE;
    a SCHOOL code; active, inactive or all."""
    _require_manager(user)
    users = User.objects.prefetch_related("schools")
    for word in text.split()[:5]:
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
        )
    if role in Role.values:
        users = users.filter(role=role)
    if school:
        users = users.filter(schools__code=school)
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    return users.distinct().order_by("username")[:limit]


@dataclass(frozen=True)
class AccountDetails:
    account: User
    school_codes: list[str]
    token: ApiToken | None
    second_factor: bool


def user_for_manager(user: User, username: str) -> AccountDetails:
    _require_manager(user)
    account = User.objects.prefetch_related("schools").filter(username=username).first()
    if account is None:
        raise NotFound(gettext("no user %(username)s") % {"username": username})
    return AccountDetails(
        account=account,
        school_codes=sorted(school.code for school in account.schools.all()),
        token=ApiToken.objects.filter(user=account).first(),
        second_factor=AuthenticatorDevice.objects.filter(user=account, confirmed=True).exists(),
    )


def schools_for_manager(user: User) -> QuerySet[School]:
    """Every school, with how many active accounts work there."""
    _require_manager(user)
    return School.objects.annotate(
        staff_count=Count("staff", filter=Q(staff__is_active=True), distinct=True)
    ).order_by("name")
