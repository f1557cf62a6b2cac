"""Creating schools and accounts, and handing out API tokens. Each writes its audit event."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from rest_framework.authtoken.models import Token

from safestep.accounts.models import Role, School, User, school_code_validator
from safestep.audit.services import event_record
from safestep.core.errors import Conflict, NotFound, ValidationFailed

ONE_TIME_PASSWORD_BYTES = 12


def school_add(*, code: str, name: str, acting_user: User | None = None) -> School:
    errors: dict[str, list[str]] = {}
    try:
        school_code_validator(code)
    except DjangoValidationError as error:
        errors["code"] = list(error.messages)
    if not name.strip():
        errors["name"] = ["A school needs a name."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if School.objects.filter(code=code).exists():
            raise Conflict(f"school {code} already exists")
        school = School.objects.create(code=code, name=name.strip())
        event_record(
            actor=acting_user, action="school.add", payload={"code": code, "name": school.name}
        )
    return school


def _schools_by_code(codes: Sequence[str]) -> list[School]:
    found = {school.code: school for school in School.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        raise ValidationFailed({"school": [f"unknown school code: {', '.join(missing)}"]})
    return [found[code] for code in codes]


def user_add(
    *,
    username: str,
    role: str,
    school_codes: Sequence[str] = (),
    email: str = "",
    acting_user: User | None = None,
) -> tuple[User, str]:
    """Create an account and return it with a one-time password to hand over.

    The password is shown once and must be changed at first sign-in.
    """
    errors: dict[str, list[str]] = {}
    try:
        User.username_validator(username)
    except DjangoValidationError as error:
        errors["username"] = list(error.messages)
    if role not in Role.values:
        errors["role"] = [f"unknown role {role!r}; one of: {', '.join(Role.values)}"]
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = [f"{email!r} is not an e-mail address"]
    school_roles = {Role.SITE_ADMIN, Role.COUNSELOR}
    if role in school_roles and not school_codes:
        errors["school"] = [f"a {role} needs at least one --school"]
    if errors:
        raise ValidationFailed(errors)
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    with transaction.atomic():
        schools = _schools_by_code(school_codes)
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username} already exists")
        user = User(username=username, role=role, email=email, must_change_password=True)
        user.set_password(password)
        user.save()
        user.schools.set(schools)
        event_record(
            actor=acting_user,
            action="user.add",
            payload={"username": username, "role": role, "schools": list(school_codes)},
        )
    return user, password


def user_password_reset(*, username: str, acting_user: User | None = None) -> str:
    """Give USERNAME a new one-time password (they must change it at next sign-in)."""
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            raise NotFound(f"no user {username}")
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "must_change_password"])
        event_record(
            actor=acting_user, action="user.password_reset", payload={"username": username}
        )
    return password


def user_token(*, username: str, acting_user: User | None = None) -> str:
    """The user's API token, created if missing."""
    with transaction.atomic():
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise NotFound(f"no active user {username}")
        token, created = Token.objects.get_or_create(user=user)
        if created:
            event_record(actor=acting_user, action="token.create", payload={"username": username})
    return token.key


def user_token_revoke(*, username: str, acting_user: User | None = None) -> bool:
    """Delete the user's API token; True if there was one."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user__username=username).delete()
        if deleted:
            event_record(actor=acting_user, action="token.revoke", payload={"username": username})
    return bool(deleted)
