from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from safestep.accounts.models import Role, School, User
from safestep.accounts.services import school_add, user_add, user_password_reset
from safestep.cases import people, services
from safestep.cases.models import Case
from safestep.cases.selectors import case_definition
from safestep.cases.services import cases_adopt_shipped_revisions
from safestep.core.commands import one_line_errors
from safestep.definitions.selectors import SHIPPED_PROTOCOL_ID
from safestep.definitions.services import protocol_load_shipped
from safestep.protocol import STEP_ROLE_POLICE_INVOLVEMENT

SCHOOLS = [("LIN", "Lincoln High School"), ("ROO", "Roosevelt Middle School")]
# One user per role; the username is the role's name.
USERS = [
    (Role.REPORTER, ["LIN"]),
    (Role.SITE_ADMIN, ["LIN"]),
    (Role.COUNSELOR, ["LIN"]),
    (Role.SCHOOL_POLICE, []),
    (Role.PLACEMENT_OFFICE, []),
    (Role.DISTRICT_COORDINATOR, []),
    (Role.AUDITOR, []),
]


class Command(BaseCommand):
    help = "Create a demo district: schools, one user per role, and sample cases (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="give every demo user a new password and print it",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        protocol_load_shipped()
        cases_adopt_shipped_revisions()
        for code, name in SCHOOLS:
            if not School.objects.filter(code=code).exists():
                school_add(code=code, name=name)
        passwords: dict[str, str] = {}
        for role, schools in USERS:
            username = str(role.value)
            if not User.objects.filter(username=username).exists():
                _, passwords[username] = user_add(
                    username=username, role=role, school_codes=schools
                )
            elif options["reset_passwords"]:
                passwords[username] = user_password_reset(username=username)
        # Demo accounts skip the forced first change so a newcomer can look around at once.
        User.objects.filter(username__in=[str(role.value) for role, _ in USERS]).update(
            must_change_password=False
        )
        if not Case.objects.exists():
            self._sample_cases()
            self.stdout.write("created sample cases on every pathway")
        if passwords:
            self.stdout.write(
                "Demo users (shown once; `safestep demo --reset-passwords` makes new ones):"
            )
            for username, password in passwords.items():
                self.stdout.write(f"  {username:<22} {password}")
        else:
            self.stdout.write(
                "Demo district already exists; run `safestep demo --reset-passwords` "
                "if you need the passwords again."
            )

    @transaction.atomic
    def _sample_cases(self) -> None:
        admin = User.objects.get(username="site_admin")
        reporter = User.objects.get(username="reporter")
        police = User.objects.get(username="school_police")
        now = timezone.now()
        services.concern_submit(
            acting_user=reporter,
            school_code="LIN",
            students=[services.StudentInput(sis_id="100045", first_name="Maya", last_name="Reyes")],
            observed_at=now - timedelta(hours=3),
            description="Picked up after school by an older man she calls her boyfriend.",
            indicators=[],
        )
        recruitment = services.case_open(
            acting_user=admin,
            pathway="recruitment_by_student",
            suspicion_formed_at=now - timedelta(days=2),
            summary="Student seen showing classmates photos and offering 'modelling' work.",
            protocol_id=SHIPPED_PROTOCOL_ID,
            school_code="LIN",
            student=services.StudentInput(sis_id="100012", first_name="Jordan", last_name="Cole"),
        )
        victim = services.case_open(
            acting_user=admin,
            pathway="suspected_victim",
            suspicion_formed_at=now - timedelta(hours=20),
            summary="Frequent absences, an older 'boyfriend', hotel key card found.",
            protocol_id=SHIPPED_PROTOCOL_ID,
            school_code="LIN",
            student=services.StudentInput(sis_id="100023", first_name="Ana", last_name="Lopez"),
        )
        police_step = case_definition(victim).step_id_with_role(STEP_ROLE_POLICE_INVOLVEMENT)
        assert police_step is not None, "the shipped protocol involves the police"
        services.step_complete(
            acting_user=police,
            case_id=victim.pk,
            step_id=police_step,
            occurred_at=now - timedelta(hours=18),
            details={"agency": "school_police", "officer": "Ofc. Diaz"},
            expected_version=victim.version,
        )
        victim.refresh_from_db()
        services.case_facts_set(
            acting_user=admin,
            case_id=victim.pk,
            facts={"abuse_or_neglect_suspected": True},
            expected_version=victim.version,
        )
        services.case_link(
            acting_user=admin, case_id=recruitment.pk, other_case_id=victim.pk, relation="recruited"
        )
        confirmed = services.case_open(
            acting_user=admin,
            pathway="confirmed_victim",
            suspicion_formed_at=now - timedelta(days=3),
            summary="Student disclosed being trafficked; SDPD confirmed.",
            school_code="LIN",
            student=services.StudentInput(sis_id="100034", first_name="Lee", last_name="Park"),
            protocol_id=SHIPPED_PROTOCOL_ID,
        )
        # The people the SS 8572 asks about: a suspect known only by description, a parent.
        for values in (
            {
                "role": "suspect",
                "description": "Adult man, drives a black sedan, calls himself Dre",
            },
            {"role": "parent", "name": "Grace Park", "relationship": "mother", "phone": "555-0142"},
        ):
            confirmed.refresh_from_db()
            people.case_person_add(
                acting_user=admin,
                case_id=confirmed.pk,
                values=values,
                expected_version=confirmed.version,
            )
        # One incident, two students: triage opens a case for each.
        services.concern_submit(
            acting_user=reporter,
            school_code="LIN",
            students=[
                services.StudentInput(sis_id="100056", first_name="Sofia", last_name="Ruiz"),
                services.StudentInput(sis_id="100067", first_name="Nia", last_name="Brooks"),
            ],
            observed_at=now - timedelta(hours=2),
            description="Both were driven off campus at lunch by the same adult.",
            indicators=[],
        )
