"""Schools and staff accounts. Each user holds exactly one role from access.md."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

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


class School(models.Model):
    code = models.CharField(max_length=16, unique=True, validators=[school_code_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.REPORTER)
    schools = models.ManyToManyField(School, blank=True, related_name="staff")
    # Set when an operator hands out a one-time password; the user must choose their own
    # at the next sign-in.
    must_change_password = models.BooleanField(default=False)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]),
                name="user_role_is_known",
            )
        ]

    def __str__(self) -> str:
        return self.username
