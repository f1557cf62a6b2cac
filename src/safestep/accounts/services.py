"""Schools, accounts, API tokens, second factors and passwords. Each writes its audit event."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
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


# --- second factor and passwords --------------------------------------------------------

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def _clean_code(code: str) -> str:
    return "".join(code.split()).lower()


def mfa_enrolment_start(*, acting_user: User) -> TOTPDevice:
    """The user's authenticator app in the making: a new secret, not yet confirmed.

    The same unconfirmed secret is returned until it is confirmed, so reloading the page
    does not invalidate a QR code the user already scanned.
    """
    with transaction.atomic():
        pending = TOTPDevice.objects.filter(user=acting_user, confirmed=False).first()
        if pending is not None:
            return pending
        device = TOTPDevice.objects.create(user=acting_user, name=TOTP_DEVICE_NAME, confirmed=False)
        event_record(actor=acting_user, action="mfa.enrol_start", payload={})
    return device


def mfa_enrolment_confirm(*, acting_user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the new authenticator with a code it shows; return it and fresh backup codes.

    The backup codes are shown once and stored only as single-use tokens.
    """
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=acting_user, confirmed=False).first()
        )
        if device is None:
            raise Conflict("there is no second factor waiting to be confirmed")
        if not device.verify_token(_clean_code(code)):
            raise ValidationFailed(
                {"code": ["That code did not match. Type the 6 digits your app shows now."]}
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=acting_user).exclude(pk=device.pk).delete()
        codes = _backup_codes_replace(acting_user)
        event_record(actor=acting_user, action="mfa.enrol", payload={"backup_codes": len(codes)})
    return device, codes


def _backup_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    backup = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=backup, token=code) for code in codes])
    return codes


def mfa_has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_verify(*, acting_user: User, code: str) -> Device:
    """The device that accepts CODE: the authenticator app, or an unused backup code.

    A backup code works once. Failures slow down further tries (django-otp's throttling);
    the caller also counts them towards the sign-in lockout.
    """
    token = _clean_code(code)
    with transaction.atomic():
        devices: list[Device] = [
            *TOTPDevice.objects.select_for_update().filter(user=acting_user, confirmed=True),
            *StaticDevice.objects.select_for_update().filter(user=acting_user, confirmed=True),
        ]
        throttled = False
        for device in devices:
            if not device.verify_is_allowed()[0]:
                throttled = True
                continue
            if token and device.verify_token(token):
                used = "backup_code" if isinstance(device, StaticDevice) else "totp"
                payload: dict[str, object] = {"second_factor": used}
                if used == "backup_code":
                    payload["backup_codes_left"] = device.token_set.count()
                event_record(actor=acting_user, action="mfa.verify", payload=payload)
                return device
    if throttled:
        raise ValidationFailed(
            {"code": ["Too many wrong codes in a row: wait a few seconds, then try again."]}
        )
    raise ValidationFailed(
        {"code": ["That code did not work. Use the current code from your app, or a backup code."]}
    )


def mfa_reset(*, username: str, acting_user: User | None = None) -> int:
    """Remove a user's second factor (a lost phone): they enrol again at next sign-in."""
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            raise NotFound(f"no user {username}")
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
        event_record(actor=acting_user, action="mfa.reset", payload={"username": username})
    return removed


def user_password_change(
    *, acting_user: User, old_password: str, new_password: str, repeat: str
) -> None:
    """The user chooses their own password (required after a one-time password)."""
    errors: dict[str, list[str]] = {}
    if not acting_user.check_password(old_password):
        errors["old_password"] = ["That is not your current password."]
    if new_password != repeat:
        errors["new_password2"] = ["The two new passwords differ."]
    elif new_password == old_password:
        errors["new_password1"] = ["Choose a password different from the current one."]
    else:
        try:
            validate_password(new_password, acting_user)
        except DjangoValidationError as error:
            errors["new_password1"] = list(error.messages)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=acting_user.pk)
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        acting_user.password = user.password
        acting_user.must_change_password = False
        event_record(actor=acting_user, action="user.password_change", payload={})
