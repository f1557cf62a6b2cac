"""Schools and staff accounts (each user holds exactly one role from access.md), and the
credentials that sign them in: API tokens (hashed) and second factors (sealed)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from safestep.core.crypto import EncryptedJSONField, EncryptedTextField

school_code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{1,15}$",
    "A school code is 2-16 capital letters, digits, '-' or '_', e.g. LIN.",
)


class Role(models.TextChoices):
    REPORTER = "reporter", "Reporter (any staff member)"
    SITE_ADMIN = "site_admin", "Site administrator"
    COUNSELOR = "counselor", "Counselor"
    SCHOOL_POLICE = "school_police", "School Police"
    PLACEMENT_OFFICE = "placement_office", "Placement and Appeal Office"
    DISTRICT_COORDINATOR = "district_coordinator", "District coordinator"
    AUDITOR = "auditor", "Auditor"


class Language(models.TextChoices):
    """The languages a person may choose for SafeStep's pages (each named in itself)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class School(models.Model):
    code = models.CharField(max_length=16, unique=True, validators=[school_code_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # The school's sourcedId in the district's OneRoster export (`safestep roster import`
    # finds it by this); blank for a school added by hand.
    sourced_id = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["sourced_id"],
                condition=~models.Q(sourced_id=""),
                name="school_sourced_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp devices
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.REPORTER)
    schools = models.ManyToManyField(School, blank=True, related_name="staff")
    # Set when an operator hands out a one-time password; the user must choose their own
    # at the next sign-in.
    must_change_password = models.BooleanField(default=False)
    # The language the person chose for the pages ("My account").
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    # The person's sourcedId in the district's OneRoster export: set when a roster import
    # created or matched the account, blank for an account made by hand (which an import
    # never deactivates).
    sourced_id = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]),
                name="user_role_is_known",
            ),
            models.UniqueConstraint(
                fields=["sourced_id"],
                condition=~models.Q(sourced_id=""),
                name="user_sourced_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.username


# --- credentials, kept so that a copy of the database does not yield them -------------


class ApiToken(models.Model):
    """A user's API token, stored as a SHA-256 digest: the key itself is shown once.

    The key is 160 random bits written as 40 hex digits. Its first ``PREFIX_LENGTH``
    characters are kept in the clear to find the row (they are not enough to use it); the
    whole key is compared by digest, in constant time (see ``safestep.accounts.tokens``).
    """

    PREFIX_LENGTH = 8

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="api_token")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"API token {self.prefix}... of {self.user_id}"


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238) whose secret is sealed with the encryption keys.

    The same fields as django-otp's ``TOTPDevice``, checked by django-otp's own code, except
    that ``key`` (the hex secret) is an :class:`EncryptedTextField`: the database holds only
    ciphertext, and ``safestep keys rotate`` re-seals it like any other value.
    """

    key = EncryptedTextField(default=default_key)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    # django-otp's own TOTP logic, unchanged: it reads the fields above, and ``key`` reads
    # as the plain hex secret once loaded.
    bin_key = TOTPDevice.bin_key
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A user's single-use backup codes, sealed with the encryption keys.

    ``codes`` lists the unused codes; a code that signs someone in is removed. Each try
    compares the given code with every unused one in constant time.

    Sealed rather than hashed: a code holds 40 random bits, so a fast hash of it could be
    reversed by whoever copies the database, and a slow hash per code would cost seconds
    per try; whoever also holds the keys can unseal the authenticator's secret anyway.
    """

    codes = EncryptedJSONField(default=list)

    class Meta(Device.Meta):
        verbose_name = "backup codes"

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))

    @property
    def codes_left(self) -> int:
        return len(self.codes)

    def verify_token(self, token: str) -> bool:
        if not self.verify_is_allowed()[0]:
            return False
        given = token.encode("utf-8")
        match = None
        for code in self.codes:
            if hmac.compare_digest(given, str(code).encode("utf-8")):
                match = code
        if match is None:
            self.throttle_increment(commit=True)
            return False
        self.codes = [code for code in self.codes if code != match]
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


# --- drafts: typed work kept across a session that ended --------------------------------


class Draft(models.Model):
    """What someone had typed into a form when their session ended, kept for them alone.

    A form sent after the idle timeout is not acted on: its fields are kept here, sealed
    with the encryption keys, for the user whose session it was (never a user id taken
    from the request), and shown back in the same form once that user signs in again
    (``accounts/drafts.py``). A draft is deleted when it is shown, and after
    ``DRAFT_LIFETIME`` in any case.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="drafts")
    # The page the form was on (a path: where to come back to), and where it was sent.
    page = models.CharField(max_length=500)
    action = models.CharField(max_length=500)
    # {field name: [values]}: what was typed, as the form sent it. Sealed at rest.
    fields = EncryptedJSONField(default=dict)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["user", "page"], name="draft_user_page")]

    def __str__(self) -> str:
        return f"draft of {self.user_id} for {self.action}"
