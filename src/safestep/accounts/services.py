"""Schools, accounts, API tokens, sessions, second factors and passwords.

Each state change is one function here, in one transaction with its audit event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticToken

from safestep.accounts.access import role_needs_schools
from safestep.accounts.models import (
    ApiToken,
    AuthenticatorDevice,
    BackupCodeDevice,
    Role,
    School,
    User,
    school_code_validator,
)
from safestep.accounts.sessions import sessions_end
from safestep.accounts.tokens import issue_key, prefix_of
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
    if role_needs_schools(role) and not school_codes:
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


def _user_for_update(username: str) -> User:
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def _credentials_revoke(user: User) -> dict[str, int]:
    """Delete USER's API token and end their web sessions: what a reset or removal needs."""
    tokens = ApiToken.objects.filter(user=user).delete()[0]
    return {"tokens_revoked": tokens, "sessions_ended": sessions_end(user_pk=user.pk)}


def user_password_reset(*, username: str, acting_user: User | None = None) -> str:
    """Give USERNAME a new one-time password (they must change it at next sign-in).

    Whoever may have learnt the old password may also hold the user's sessions or API
    token, so both end here too.
    """
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    with transaction.atomic():
        user = _user_for_update(username)
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "must_change_password"])
        revoked = _credentials_revoke(user)
        event_record(
            actor=acting_user,
            action="user.password_reset",
            payload={"username": username, **revoked},
        )
    return password


@dataclass(frozen=True)
class Revoked:
    tokens_revoked: int
    sessions_ended: int

    def describe(self) -> str:
        tokens = "its API token revoked" if self.tokens_revoked else "no API token"
        sessions = f"{self.sessions_ended} session{'s' * (self.sessions_ended != 1)} ended"
        return f"{tokens}, {sessions}"


def user_deactivate(*, username: str, acting_user: User | None = None) -> Revoked:
    """Stop USERNAME signing in or using the API; their records and history stay."""
    with transaction.atomic():
        user = _user_for_update(username)
        if not user.is_active:
            raise Conflict(f"user {username} is already deactivated")
        user.is_active = False
        user.save(update_fields=["is_active"])
        revoked = _credentials_revoke(user)
        event_record(
            actor=acting_user, action="user.deactivate", payload={"username": username, **revoked}
        )
    return Revoked(**revoked)


def user_activate(*, username: str, acting_user: User | None = None) -> None:
    """Let a deactivated USERNAME sign in again (with their password and second factor)."""
    with transaction.atomic():
        user = _user_for_update(username)
        if user.is_active:
            raise Conflict(f"user {username} is already active")
        user.is_active = True
        user.save(update_fields=["is_active"])
        event_record(actor=acting_user, action="user.activate", payload={"username": username})


def user_role_set(*, username: str, role: str, acting_user: User | None = None) -> bool:
    """Give USERNAME another role; False if they already hold it.

    The new role applies at the user's next request, on the web and the API alike. A role
    that needs a second factor ends web sessions signed in without one.
    """
    if role not in Role.values:
        raise ValidationFailed(
            {"role": [f"unknown role {role!r}; one of: {', '.join(Role.values)}"]}
        )
    with transaction.atomic():
        user = _user_for_update(username)
        previous = user.role
        if previous == role:
            return False
        if role_needs_schools(role) and not user.schools.exists():
            raise ValidationFailed(
                {
                    "school": [
                        f"a {role} needs at least one school: first run "
                        f"`safestep user schools {username} CODE...`"
                    ]
                }
            )
        user.role = role
        user.save(update_fields=["role"])
        event_record(
            actor=acting_user,
            action="user.role",
            payload={"username": username, "from": previous, "to": role},
        )
    return True


def user_schools_set(
    *, username: str, school_codes: Sequence[str], acting_user: User | None = None
) -> list[str]:
    """Set the schools USERNAME works at (replacing the previous list); return the codes."""
    codes = list(dict.fromkeys(school_codes))
    with transaction.atomic():
        user = _user_for_update(username)
        if not codes and role_needs_schools(user.role):
            raise ValidationFailed({"school": [f"a {user.role} needs at least one school"]})
        schools = _schools_by_code(codes)
        previous = sorted(user.schools.values_list("code", flat=True))
        user.schools.set(schools)
        event_record(
            actor=acting_user,
            action="user.schools",
            payload={"username": username, "from": previous, "to": sorted(codes)},
        )
    return sorted(codes)


def user_sessions_revoke(*, username: str | None, acting_user: User | None = None) -> int:
    """End USERNAME's web sessions (everyone's for None); return how many ended."""
    with transaction.atomic():
        user_pk = None
        if username is not None:
            user_pk = _user_for_update(username).pk
        ended = sessions_end(user_pk=user_pk)
        event_record(
            actor=acting_user,
            action="session.revoke",
            payload={"username": username or "", "all": username is None, "sessions": ended},
        )
    return ended


def user_token(*, username: str, rotate: bool = False, acting_user: User | None = None) -> str:
    """A new API token for USERNAME, returned once: only its digest is stored.

    A user has at most one token. If they have one already it cannot be shown again, so
    this refuses unless ROTATE, which replaces it (the old token stops working).
    """
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username, is_active=True).first()
        if user is None:
            raise NotFound(f"no active user {username}")
        existing = ApiToken.objects.filter(user=user).first()
        if existing is not None and not rotate:
            raise Conflict(
                f"{username} already has an API token ({existing.prefix}..., made "
                f"{existing.created_at:%Y-%m-%d}); only its hash is kept, so it cannot be "
                f"shown again. `safestep user token {username} --rotate` replaces it"
            )
        key = issue_key(user)
        event_record(
            actor=acting_user,
            action="token.rotate" if existing is not None else "token.create",
            payload={"username": username, "prefix": prefix_of(key)},
        )
    return key


def user_token_revoke(*, username: str, acting_user: User | None = None) -> bool:
    """Delete the user's API token; True if there was one."""
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            raise NotFound(f"no user {username}")
        deleted, _ = ApiToken.objects.filter(user=user).delete()
        if deleted:
            event_record(actor=acting_user, action="token.revoke", payload={"username": username})
    return bool(deleted)


# --- second factor and passwords --------------------------------------------------------

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def _clean_code(code: str) -> str:
    return "".join(code.split()).lower()


def mfa_enrolment_start(*, acting_user: User) -> AuthenticatorDevice:
    """The user's authenticator app in the making: a new secret, not yet confirmed.

    The same unconfirmed secret is returned until it is confirmed, so reloading the page
    does not invalidate a QR code the user already scanned.
    """
    with transaction.atomic():
        pending = AuthenticatorDevice.objects.filter(user=acting_user, confirmed=False).first()
        if pending is not None:
            return pending
        device = AuthenticatorDevice.objects.create(
            user=acting_user, name=TOTP_DEVICE_NAME, confirmed=False
        )
        event_record(actor=acting_user, action="mfa.enrol_start", payload={})
    return device


def mfa_enrolment_confirm(*, acting_user: User, code: str) -> tuple[AuthenticatorDevice, list[str]]:
    """Confirm the new authenticator with a code it shows; return it and fresh backup codes.

    The backup codes are shown once; they are stored sealed and each works once.
    """
    with transaction.atomic():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user=acting_user, confirmed=False)
            .first()
        )
        if device is None:
            raise Conflict("there is no second factor waiting to be confirmed")
        if not device.verify_token(_clean_code(code)):
            raise ValidationFailed(
                {"code": ["That code did not match. Type the 6 digits your app shows now."]}
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        AuthenticatorDevice.objects.filter(user=acting_user).exclude(pk=device.pk).delete()
        codes = _backup_codes_replace(acting_user)
        event_record(actor=acting_user, action="mfa.enrol", payload={"backup_codes": len(codes)})
    return device, codes


def _backup_codes_replace(user: User) -> list[str]:
    BackupCodeDevice.objects.filter(user=user).delete()
    codes: list[str] = []
    while len(codes) < BACKUP_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    BackupCodeDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True, codes=codes)
    return codes


def mfa_has_device(user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_verify(*, acting_user: User, code: str) -> Device:
    """The device that accepts CODE: the authenticator app, or an unused backup code.

    A backup code works once. Failures slow down further tries (django-otp's throttling);
    the caller also counts them towards the sign-in lockout.
    """
    token = _clean_code(code)
    with transaction.atomic():
        devices: list[Device] = [
            *AuthenticatorDevice.objects.select_for_update().filter(
                user=acting_user, confirmed=True
            ),
            *BackupCodeDevice.objects.select_for_update().filter(user=acting_user, confirmed=True),
        ]
        throttled = False
        for device in devices:
            if not device.verify_is_allowed()[0]:
                throttled = True
                continue
            if token and device.verify_token(token):
                payload: dict[str, object] = {"second_factor": "totp"}
                if isinstance(device, BackupCodeDevice):
                    payload = {
                        "second_factor": "backup_code",
                        "backup_codes_left": device.codes_left,
                    }
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
        removed = AuthenticatorDevice.objects.filter(user=user).delete()[0]
        removed += BackupCodeDevice.objects.filter(user=user).delete()[0]
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
