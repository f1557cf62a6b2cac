"""Schools, accounts, API tokens, sessions, second factors and passwords.

Each state change is one function here, in one transaction with its audit event.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticToken
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential

from safestep.accounts.access import (
    Capability,
    has_capability,
    needs_second_factor,
    role_needs_schools,
)
from safestep.accounts.models import (
    ApiToken,
    AuthenticatorDevice,
    BackupCodeDevice,
    Language,
    Role,
    School,
    User,
    school_code_validator,
)
from safestep.accounts.roster import Advance, Change, SchoolPlan, StaffPlan
from safestep.accounts.sessions import sessions_end
from safestep.accounts.tokens import issue_key, prefix_of
from safestep.audit.services import event_record
from safestep.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

ONE_TIME_PASSWORD_BYTES = 12

_Item = TypeVar("_Item")
# The columns' lengths (School.name, User.email).
SCHOOL_NAME_MAX = 200
EMAIL_MAX = 254


def _require_manager(acting_user: User | None) -> None:
    """Accounts and schools are the district coordinator's (the administration area).

    ACTING_USER is None on the command line, where the operator's shell account decides.
    """
    if acting_user is not None and not has_capability(acting_user, Capability.ACCOUNTS_MANAGE):
        raise PermissionDenied(
            gettext("your role (%(role)s) may not manage accounts") % {"role": acting_user.role}
        )


def _not_oneself(acting_user: User | None, username: str, what: str) -> None:
    """Nobody locks themselves out: another coordinator does it, or an operator."""
    if acting_user is not None and acting_user.username == username:
        raise Conflict(f"you may not {what} your own account; ask another coordinator")


def school_add(*, code: str, name: str, acting_user: User | None = None) -> School:
    _require_manager(acting_user)
    errors: dict[str, list[str]] = {}
    try:
        school_code_validator(code)
    except DjangoValidationError as error:
        errors["code"] = list(error.messages)
    if not name.strip():
        errors["name"] = [gettext("A school needs a name.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        if School.objects.filter(code=code).exists():
            raise Conflict(gettext("school %(code)s already exists") % {"code": code})
        school = School.objects.create(code=code, name=name.strip())
        event_record(
            actor=acting_user, action="school.add", payload={"code": code, "name": school.name}
        )
    return school


def school_rename(*, code: str, name: str, acting_user: User | None = None) -> School:
    """Give the school CODE a new NAME; its code (which cases and accounts use) stays."""
    _require_manager(acting_user)
    if not name.strip():
        raise ValidationFailed({"name": [gettext("A school needs a name.")]})
    if len(name.strip()) > SCHOOL_NAME_MAX:
        raise ValidationFailed(
            {"name": [gettext("At most %(limit)s characters.") % {"limit": SCHOOL_NAME_MAX}]}
        )
    with transaction.atomic():
        school = School.objects.select_for_update().filter(code=code).first()
        if school is None:
            raise NotFound(gettext("no school %(code)s") % {"code": code})
        previous = school.name
        school.name = name.strip()
        school.save(update_fields=["name"])
        event_record(
            actor=acting_user,
            action="school.rename",
            payload={"code": code, "name": school.name, "from": previous},
        )
    return school


def _schools_by_code(codes: Sequence[str]) -> list[School]:
    found = {school.code: school for school in School.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        raise ValidationFailed(
            {"school": [gettext("unknown school code: %(codes)s") % {"codes": ", ".join(missing)}]}
        )
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
    _require_manager(acting_user)
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
            raise Conflict(gettext("user %(username)s already exists") % {"username": username})
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
        raise NotFound(gettext("no user %(username)s") % {"username": username})
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
    _require_manager(acting_user)
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
    _require_manager(acting_user)
    _not_oneself(acting_user, username, "deactivate")
    with transaction.atomic():
        user = _user_for_update(username)
        if not user.is_active:
            raise Conflict(
                gettext("user %(username)s is already deactivated") % {"username": username}
            )
        revoked = _deactivate(user)
        event_record(
            actor=acting_user, action="user.deactivate", payload={"username": username, **revoked}
        )
    return Revoked(**revoked)


def _deactivate(user: User) -> dict[str, int]:
    """Stop USER: no sign-in, no API token, no session (``user_deactivate``, roster imports).

    An inactive user also keeps no check-ins: the case page asks for someone else
    (``notify.selectors.checkin_keeper_away``).
    """
    user.is_active = False
    user.save(update_fields=["is_active"])
    return _credentials_revoke(user)


def user_activate(*, username: str, acting_user: User | None = None) -> None:
    """Let a deactivated USERNAME sign in again (with their password and second factor)."""
    _require_manager(acting_user)
    with transaction.atomic():
        user = _user_for_update(username)
        if user.is_active:
            raise Conflict(gettext("user %(username)s is already active") % {"username": username})
        user.is_active = True
        user.save(update_fields=["is_active"])
        event_record(actor=acting_user, action="user.activate", payload={"username": username})


def user_role_set(*, username: str, role: str, acting_user: User | None = None) -> bool:
    """Give USERNAME another role; False if they already hold it.

    The new role applies at the user's next request, on the web and the API alike. A role
    that needs a second factor ends web sessions signed in without one.
    """
    _require_manager(acting_user)
    _not_oneself(acting_user, username, "change the role of")
    if role not in Role.values:
        raise ValidationFailed(
            {
                "role": [
                    gettext("unknown role %(role)r; one of: %(roles)s")
                    % {"role": role, "roles": ", ".join(Role.values)}
                ]
            }
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
    _require_manager(acting_user)
    codes = list(dict.fromkeys(school_codes))
    with transaction.atomic():
        user = _user_for_update(username)
        if not codes and role_needs_schools(user.role):
            raise ValidationFailed(
                {"school": [gettext("a %(role)s needs at least one school") % {"role": user.role}]}
            )
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
    _require_manager(acting_user)
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
    _require_manager(acting_user)
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
            raise Conflict(gettext("there is no second factor waiting to be confirmed"))
        if not device.verify_token(_clean_code(code)):
            raise ValidationFailed(
                {
                    "code": [
                        gettext("That code did not match. Type the 6 digits your app shows now.")
                    ]
                }
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
    """Whether USER has a second factor: an authenticator app or a passkey."""
    return (
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


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
            {
                "code": [
                    gettext("Too many wrong codes in a row: wait a few seconds, then try again.")
                ]
            }
        )
    raise ValidationFailed(
        {
            "code": [
                gettext(
                    "That code did not work. Use the current code from your app, or a backup code."
                )
            ]
        }
    )


def mfa_reset(*, username: str, acting_user: User | None = None) -> int:
    """Remove a user's second factor (a lost phone): they enrol again at next sign-in."""
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            raise NotFound(f"no user {username}")
        removed = AuthenticatorDevice.objects.filter(user=user).delete()[0]
        removed += BackupCodeDevice.objects.filter(user=user).delete()[0]
        # A lost phone may hold the user's passkeys too: they all go, and the user sets up
        # a second factor again at next sign-in.
        removed += WebAuthnCredential.objects.filter(user=user).delete()[0]
        event_record(actor=acting_user, action="mfa.reset", payload={"username": username})
    return removed


# --- passkeys (WebAuthn, through django-otp-webauthn) -----------------------------------
# The browser ceremonies are checked by django-otp-webauthn's helper (challenge, relying
# party id, origin, signature); these functions run that check inside the transaction that
# keeps or uses the passkey and records it, so a refused ceremony changes nothing.

PASSKEY_DEVICE_NAME = "Passkey"


def _passkeys_count(user: User) -> int:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).count()


def passkey_add(
    *,
    acting_user: User,
    helper: WebAuthnHelper,
    state: Mapping[str, Any],
    response: Mapping[str, Any],
    verified: bool,
) -> tuple[WebAuthnCredential, list[str]]:
    """Keep the passkey the browser just created; return it and, when it is the user's
    first second factor, fresh backup codes (shown once, as after setting up an app).

    VERIFIED says whether this session already gave a second factor. Without it, only a
    user who has none yet (first set-up, right after the password) may add a passkey:
    otherwise a password alone would be enough to add a second factor of one's own.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=acting_user.pk).first()
        first = not mfa_has_device(acting_user)
        if not verified and not first:
            raise PermissionDenied(gettext("give your second factor before adding a passkey"))
        device = helper.register_complete(user=acting_user, state=dict(state), data=response)
        device.name = PASSKEY_DEVICE_NAME
        device.save(update_fields=["name"])
        codes = _backup_codes_replace(acting_user) if first else []
        event_record(
            actor=acting_user,
            action="mfa.passkey_add",
            payload={"passkeys": _passkeys_count(acting_user), "backup_codes": len(codes)},
        )
    return device, codes


def passkey_verify(
    *,
    acting_user: User,
    helper: WebAuthnHelper,
    state: Mapping[str, Any],
    response: Mapping[str, Any],
) -> WebAuthnCredential:
    """The user's passkey that signed this sign-in's challenge (the second factor).

    Only the user's own passkeys are offered and accepted; the helper also moves the
    passkey's signature counter on, so a copied passkey shows up as a refusal.
    """
    with transaction.atomic():
        device = helper.authenticate_complete(user=acting_user, state=dict(state), data=response)
        if not device.confirmed:
            raise ValidationFailed({"passkey": [gettext("This passkey has been turned off.")]})
        event_record(
            actor=acting_user, action="mfa.passkey_verify", payload={"second_factor": "passkey"}
        )
    return device


def passkey_remove(*, acting_user: User, passkey_id: int) -> int:
    """Remove one of the user's own passkeys; return how many they have left.

    A role that needs a second factor never loses its last one here (the authenticator app
    or another passkey must remain); backup codes alone do not count.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=acting_user.pk).first()
        device = WebAuthnCredential.objects.filter(user=acting_user, pk=passkey_id).first()
        if device is None:
            raise NotFound(gettext("you have no passkey %(passkey)s") % {"passkey": passkey_id})
        others = WebAuthnCredential.objects.filter(user=acting_user, confirmed=True).exclude(
            pk=device.pk
        )
        has_app = AuthenticatorDevice.objects.filter(user=acting_user, confirmed=True).exists()
        if needs_second_factor(acting_user) and not has_app and not others.exists():
            raise Conflict(
                gettext(
                    "this passkey is your only second factor: add another passkey or an "
                    "authenticator app first"
                )
            )
        device.delete()
        left = others.count()
        event_record(
            actor=acting_user, action="mfa.passkey_remove", payload={"passkeys_left": left}
        )
    return left


def user_password_change(
    *, acting_user: User, old_password: str, new_password: str, repeat: str
) -> None:
    """The user chooses their own password (required after a one-time password)."""
    errors: dict[str, list[str]] = {}
    if not acting_user.check_password(old_password):
        errors["old_password"] = [gettext("That is not your current password.")]
    if new_password != repeat:
        errors["new_password2"] = [gettext("The two new passwords differ.")]
    elif new_password == old_password:
        errors["new_password1"] = [gettext("Choose a password different from the current one.")]
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


def user_account_set(*, acting_user: User, email: str, language: str) -> list[str]:
    """The person's own settings ("My account"): where reminders go, and the pages' language.

    Returns the names of what changed (nothing changed: nothing is recorded). The address
    itself is not written to the audit trail, only that it changed.
    """
    email = email.strip()
    errors: dict[str, list[str]] = {}
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = [gettext("That is not an e-mail address (name@example.org).")]
        if len(email) > EMAIL_MAX:
            errors["email"] = [gettext("At most %(limit)s characters.") % {"limit": EMAIL_MAX}]
    if language not in Language.values:
        errors["language"] = [
            gettext("Choose one of: %(languages)s.")
            % {"languages": ", ".join(str(label) for label in Language.labels)}
        ]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=acting_user.pk)
        changed = [
            name
            for name, value in (("email", email), ("language", language))
            if getattr(user, name) != value
        ]
        if not changed:
            return []
        user.email, user.language = email, language
        user.save(update_fields=changed)
        acting_user.email, acting_user.language = email, language
        event_record(
            actor=acting_user,
            action="user.account",
            payload={"changed": changed, "language": language, "has_email": bool(email)},
        )
    return changed


# --- roster imports ---------------------------------------------------------------------
# The writes of `safestep roster import` (accounts/roster.py plans them). They run inside
# the import's one transaction (``cases.roster.roster_import``), which records the import's
# one audit event with the counts: these record none of their own.

ROSTER_BATCH = 500


def _batches(items: Sequence[_Item]) -> Iterator[Sequence[_Item]]:
    for start in range(0, len(items), ROSTER_BATCH):
        yield items[start : start + ROSTER_BATCH]


def _held_pk(plan: SchoolPlan | StaffPlan) -> int:
    """The id of the record PLAN changes (a plan to create one has none)."""
    if plan.pk is None:
        raise ValueError(f"{plan.change} plan without a record")
    return plan.pk


def roster_schools_write(*, plans: Sequence[SchoolPlan]) -> dict[str, int]:
    """Create and update the schools of a roster import; return every school's id by code."""
    for plan in plans:
        values = {"sourced_id": plan.sourced_id, "code": plan.code, "name": plan.name}
        if plan.change == Change.CREATE:
            School.objects.create(**values)
        elif plan.change == Change.UPDATE:
            School.objects.filter(pk=_held_pk(plan)).update(**values)
    return dict(School.objects.values_list("code", "pk"))


def roster_staff_write(
    *, plans: Sequence[StaffPlan], school_ids: Mapping[str, int], advance: Advance
) -> None:
    """Create, update and deactivate the staff accounts of a roster import.

    A new account has no usable password: its owner signs in through the district's
    identity provider, or an operator hands them a one-time password. Deactivation is
    ``user_deactivate``'s: the token is revoked and the sessions end.
    """
    created = [plan for plan in plans if plan.change == Change.CREATE]
    accounts = [
        User(
            sourced_id=plan.sourced_id,
            username=plan.username,
            first_name=plan.first_name,
            last_name=plan.last_name,
            email=plan.email,
            role=plan.role,
            password=make_password(None),
        )
        for plan in created
    ]
    for batch in _batches(accounts):
        User.objects.bulk_create(batch)
        advance(len(batch))
    links = [
        (account.pk, code)
        for account, plan in zip(accounts, created, strict=True)
        for code in sorted(plan.school_codes)
    ]
    updated = [plan for plan in plans if plan.change == Change.UPDATE]
    fields = sorted({name for plan in updated for name in plan.changed} - {"school_codes"})
    for changes in _batches(updated):
        if fields:
            rows = [
                User(pk=_held_pk(plan), **{name: getattr(plan, name) for name in fields})
                for plan in changes
            ]
            User.objects.bulk_update(rows, fields)
        advance(len(changes))
    moved = [plan for plan in updated if "school_codes" in plan.changed]
    through = User.schools.through
    for pks in _batches([_held_pk(plan) for plan in moved]):
        through.objects.filter(user_id__in=pks).delete()
    links += [(_held_pk(plan), code) for plan in moved for code in sorted(plan.school_codes)]
    through.objects.bulk_create(
        [through(user_id=pk, school_id=school_ids[code]) for pk, code in links],
        batch_size=ROSTER_BATCH,
    )
    for plan in plans:
        if plan.change == Change.DEACTIVATE:
            _deactivate(User.objects.select_for_update().get(pk=_held_pk(plan)))
            advance(1)
