"""Who may reach what: every URL of SafeStep x every role x a case in and out of scope.

THE TABLE BELOW (``ACCESS``) IS THE ONE PLACE THAT SAYS WHAT EACH ROLE GETS FROM EACH URL.

The test walks Django's URL resolver, so every route of the project (pages and API) is
checked; a route missing from the table fails, and so does a row for a route that no
longer exists. A method a route does not list must be refused (the sweep at the end).

How to read a row::

    "api/v1/cases/<int:case_id>": [
        Call("GET",  "401  404  200/404  200/404  200  200/404  200  404"),
    ],

- The key is the route exactly as the resolver spells it (prefixes joined, converters
  kept), e.g. ``cases/<int:case_id>/notes/``. Run the test: a missing route is named in
  the failure.
- Each ``Call`` is one request: a method, the expected statuses, and optionally a
  ``body`` (a function of the scenario, see ``Scene``), ``step`` for ``<step_id>``, and
  ``json=False`` to post a form instead of JSON.
- The status string has one cell per column of ``ROLES``, in this order:
  anonymous, reporter, site_admin, counselor, school_police, placement_office,
  district_coordinator, auditor. A cell ``in/out`` gives the status for the case (or
  concern, school, attachment) in that role's scope, then for the one outside it; a
  single number means both. ``302`` for a page means "sent to sign in" for anonymous.

The scene: ``in`` is a confirmed-victim case at LIN (site_admin and counselor work at LIN;
the placement office sees confirmed-victim cases); ``out`` is a suspected-victim case at ROO.
School Police and the district coordinator see the whole district, so "out" is inside
their scope too and their cells say so. Every request runs in a transaction that is rolled
back, so each cell starts from the same scene.

To add a route: add a row with one ``Call`` per method, run this file, and compare the
observed row printed on failure with access.md before copying anything.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from safestep.accounts.testing import api_token_for, sign_in_client
from safestep.attachments.services import attachment_add
from safestep.cases import services
from safestep.cases.models import Case, Concern, Review
from safestep.cases.people import case_person_add

ROLES = (
    "anonymous",
    "reporter",
    "site_admin",
    "counselor",
    "school_police",
    "placement_office",
    "district_coordinator",
    "auditor",
)
PDF = b"%PDF-1.7\n%%EOF\n"


@dataclass
class Scene:
    """What one side ("in" or "out") of the scenario offers a request."""

    scope: str
    case: Case
    partner: Case  # another case in the same school, to link to
    concern: Concern
    attachment_id: int
    review_id: int
    person_id: int
    school: str
    counselor: str
    now: Any = field(default_factory=timezone.now)

    def ago(self, **delta: float) -> str:
        return (self.now - timedelta(**delta)).isoformat()

    @property
    def version(self) -> int:
        return Case.objects.get(pk=self.case.pk).version

    @property
    def local_time(self) -> str:
        return timezone.localtime(self.now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


Body = Callable[[Scene], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    method: str
    expect: str
    body: Body | None = None
    step: str = "campus_impact"
    json: bool = True


def student(scene: Scene) -> dict[str, Any]:
    return {"sis_id": f"NEW-{scene.scope}", "first_name": "Sam", "last_name": "Reed"}


# fmt: off
# Columns:          anon  rep   admin    counsel  police   placement coord    auditor
ACCESS: dict[str, list[Call]] = {
    # --- API: protocols and concerns ----------------------------------------------------
    "api/v1/protocols": [
        Call("GET",  "401  200   200      200      200      200      200      200"),
    ],
    "api/v1/concerns": [
        # Everyone gets a list; it holds only what they may see (an auditor's is empty).
        Call("GET",  "401  200   200      200      200      200      200      200"),
        Call("POST", "401  201   201      201      201      201      201      403", lambda s: {
            "school": s.school, "student": student(s), "observed_at": s.ago(hours=1),
            "description": "Seen with an older man.", "indicators": []}),
    ],
    "api/v1/concerns/<int:concern_id>": [
        # The reporter (here the school's counselor) and the school's triagers.
        Call("GET",  "401  404   200/404  200/404  404      404      200      404"),
    ],
    "api/v1/concerns/<int:concern_id>/own-report": [
        # The reporter's own duty: nobody else records it, or learns the concern exists.
        Call("POST", "401  404   404      200/404  404      404      404      403",
             lambda s: {"agency": "cws", "phoned_at": s.ago(minutes=30)}),
    ],
    "api/v1/concerns/<int:concern_id>/scar.pdf": [
        Call("GET",  "401  404   404      200/404  404      404      404      403"),
    ],
    "api/v1/reviews": [
        Call("GET",  "401  403   403      403      403      403      200      403"),
    ],
    "api/v1/reviews/<int:review_id>/decide": [
        Call("POST", "401  403   403      403      403      403      200      403",
             lambda s: {"decision": "overruled", "comment": "Triage it."}),
    ],
    "api/v1/concerns/<int:concern_id>/attach": [
        # The concern names another student than the case's, so triagers get 400.
        Call("POST", "401  403   400/404  403      403      403      400      403",
             lambda s: {"case": s.case.pk, "version": s.version}),
    ],
    "api/v1/concerns/<int:concern_id>/dismiss": [
        Call("POST", "401  403   200/404  403      403      403      200      403",
             lambda s: {"reason": "Duplicate."}),
    ],
    # --- API: cases -------------------------------------------------------------------------
    "api/v1/cases": [
        Call("GET",  "401  403   200      200      200      200      200      403"),
        Call("POST", "401  403   201/400  403      403      403      201      403", lambda s: {
            "school": s.school, "student": student(s), "pathway": "suspected_victim",
            "suspicion_formed_at": s.ago(hours=2), "summary": "Opened for the matrix."}),
    ],
    "api/v1/cases/<int:case_id>": [
        Call("GET",  "401  404   200/404  200/404  200      200/404  200      404"),
    ],
    "api/v1/cases/<int:case_id>/facts": [
        # School Police judge the evidence (and coordinators); site administrators may not.
        Call("POST", "401  404   403/404  403/404  200      403/404  200      404",
             lambda s: {"facts": {"reliable_evidence": True}, "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/people": [
        # Those who work the case, School Police included; never the placement office.
        Call("POST", "401  404   201/404  201/404  201      403/404  201      404", lambda s: {
            "role": "suspect", "description": "Drives a black sedan.", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/people/<int:person_id>": [
        Call("PATCH", "401  404  200/404  200/404  200      403/404  200      404",
             lambda s: {"phone": "555-0100", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/student": [
        Call("PATCH", "401  404  200/404  200/404  403      403/404  200      404",
             lambda s: {"primary_language": "Spanish", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/void": [
        Call("POST", "401  404   200/404  403/404  403      403/404  200      404",
             lambda s: {"reason": "Opened for the wrong student.", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/transfer": [
        # No placement review has decided a transfer yet, so those allowed get 409.
        Call("POST", "401  404   403/404  403/404  403      409/404  409      404", lambda s: {
            "school": "ROO" if s.scope == "in" else "LIN", "completed_at": s.ago(minutes=30),
            "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/steps/<slug:step_id>/complete": [
        Call("POST", "401  404   200/404  403/404  403      403/404  200      404", lambda s: {
            "occurred_at": s.ago(hours=1), "version": s.version,
            "details": {"findings": "None found.", "other_students_involved": False}}),
    ],
    "api/v1/cases/<int:case_id>/steps/<slug:step_id>/progress": [
        # The phone call on the report step: "in" is a confirmed victim, whose report is due.
        Call("POST", "401  404   200/404  200/404  403      403/404  200      404", lambda s: {
            "details": {"agency": "cws", "phoned_at": s.ago(minutes=30)},
            "version": s.version}, step="cws_report"),
    ],
    "api/v1/cases/<int:case_id>/clock": [
        Call("POST", "401  404   200/404  403/404  403      403/404  200      404", lambda s: {
            "suspicion_formed_at": s.ago(hours=3), "reason": "Heard of it earlier.",
            "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/steps/<slug:step_id>/not-applicable": [
        Call("POST", "401  404   200/404  200/404  403      403/404  200      404", lambda s: {
            "reason": "A parent may be involved.", "details": {"victim_consulted": True},
            "version": s.version}, step="parent_contact"),
    ],
    "api/v1/cases/<int:case_id>/steps/<slug:step_id>/reopen": [
        Call("POST", "401  404   200/404  403/404  403      403/404  200      404",
             lambda s: {"reason": "Recorded by mistake.", "version": s.version},
             step="police_involved"),
    ],
    "api/v1/cases/<int:case_id>/escalate": [
        # "in" is a confirmed victim already, so those allowed get 400: cannot escalate.
        Call("POST", "401  404   400/404  403/404  403      403/404  400/200  404", lambda s: {
            "pathway": "confirmed_victim", "reason": "Disclosed.", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/links": [
        Call("POST", "401  404   201/404  403/404  403      403/404  201      404",
             lambda s: {"case": s.partner.pk, "relation": "same_incident"}),
    ],
    "api/v1/cases/<int:case_id>/check-in-plan": [
        Call("PUT",  "401  404   200/404  200/404  403      403/404  200      404",
             lambda s: {"every_days": 7, "assignee": s.counselor, "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/check-ins": [
        Call("POST", "401  404   201/404  201/404  403      403/404  201      404", lambda s: {
            "occurred_at": s.ago(minutes=30), "method": "in_person", "notes": "Doing better."}),
    ],
    "api/v1/cases/<int:case_id>/notes": [
        Call("POST", "401  404   201/404  201/404  201      403/404  201      404",
             lambda s: {"text": "Called the aunt."}),
    ],
    "api/v1/cases/<int:case_id>/timeline": [
        Call("GET",  "401  404   200/404  200/404  200      403/404  200      404"),
    ],
    "api/v1/cases/<int:case_id>/close": [
        # Steps are still open, so those allowed get 409: not closable yet.
        Call("POST", "401  404   409/404  403/404  403      403/404  409      404",
             lambda s: {"outcome": "Moved away.", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/reopen": [
        # The case is open, so those allowed get 409: already open.
        Call("POST", "401  404   409/404  403/404  403      403/404  409      404",
             lambda s: {"reason": "New information.", "version": s.version}),
    ],
    "api/v1/cases/<int:case_id>/attachments": [
        Call("GET",  "401  404   200/404  200/404  200      403/404  200      404"),
        Call("POST", "401  404   201/404  201/404  201      403/404  201      404",
             lambda s: {"file": SimpleUploadedFile("scan.pdf", PDF)}, json=False),
    ],
    "api/v1/cases/<int:case_id>/attachments/<int:attachment_id>": [
        Call("GET",  "401  404   200/404  200/404  200      403/404  200      404"),
    ],
    "api/v1/cases/<int:case_id>/scar.pdf": [
        Call("GET",  "401  404   200/404  200/404  403      403/404  200      404"),
    ],
    # --- API: statistics, audit, documentation ---------------------------------------------
    "api/v1/stats": [
        Call("GET",  "401  403   403      403      403      403      200      200"),
    ],
    "api/v1/stats.csv": [
        Call("GET",  "401  403   403      403      403      403      200      200"),
    ],
    "api/v1/audit": [
        Call("GET",  "401  403   403      403      403      403      200      200"),
    ],
    "api/v1/students/<str:sis_id>/disclosures": [
        # Only disclosures on cases the reader can see: another school's student reads as
        # an empty log. Auditors and the placement office may not look students up at all.
        Call("GET",  "401  403   200      200      200      403      200      403"),
    ],
    "api/schema/": [
        Call("GET",  "200  200   200      200      200      200      200      200"),
    ],
    "api/docs/": [
        Call("GET",  "200  200   200      200      200      200      200      200"),
    ],
    # --- Pages: signing in and out ---------------------------------------------------------
    "signin/": [
        Call("GET",  "200  302   302      302      302      302      302      302"),
    ],
    "signin/code/": [
        Call("GET",  "302  302   302      302      302      302      302      302"),
    ],
    "signin/enrol/": [
        Call("GET",  "302  302   302      302      302      302      302      302"),
    ],
    # Single sign-on answers 404 while no identity provider is configured (as here); with
    # one, accounts/tests/test_single_sign_on.py covers both routes end to end.
    "signin/oidc/": [
        Call("GET",  "404  404   404      404      404      404      404      404"),
    ],
    "signin/oidc/callback/": [
        Call("GET",  "404  404   404      404      404      404      404      404"),
    ],
    "signout/": [
        Call("POST", "302  302   302      302      302      302      302      302", json=False),
    ],
    "account/password/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
    ],
    # Passkeys: the sign-in's second step acts only for a pending sign-in (none here: 403);
    # adding one is for signed-in roles with a second factor (the reporter has none);
    # completing without a begun ceremony is 400; removing without a choice is 400.
    "signin/passkey/begin/": [
        Call("POST", "403  403   403      403      403      403      403      403"),
    ],
    "signin/passkey/complete/": [
        Call("POST", "403  403   403      403      403      403      403      403"),
    ],
    "signin/enrol/codes/": [
        Call("GET",  "302  302   302      302      302      302      302      302"),
    ],
    "passkeys/register/begin/": [
        Call("POST", "403  403   200      200      200      200      200      200"),
    ],
    "passkeys/register/complete/": [
        Call("POST", "403  403   400      400      400      400      400      400"),
    ],
    "passkeys/i18n/": [
        Call("GET",  "200  200   200      200      200      200      200      200"),
    ],
    "account/passkeys/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
    ],
    "account/passkeys/remove/": [
        Call("POST", "302  400   400      400      400      400      400      400",
             lambda s: {}, json=False),
    ],
    # --- Pages: the rest -------------------------------------------------------------------
    "": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
    ],
    "healthz": [
        Call("GET",  "200  200   200      200      200      200      200      200"),
    ],
    "protocol/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
    ],
    "reminders/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
        Call("POST", "302  302   302      302      302      302      302      302",
             lambda s: {"delivery": "digest", "digest_hour": "7"}, json=False),
    ],
    "audit/": [
        Call("GET",  "302  403   403      403      403      403      200      200"),
    ],
    "dashboard/": [
        Call("GET",  "302  403   200      403      403      403      200      403"),
    ],
    # --- Pages: concerns and triage ----------------------------------------------------------
    "concerns/new/": [
        Call("GET",  "302  200   200      200      200      200      200      404"),
        Call("POST", "302  302   302      302      302      302      302      404", lambda s: {
            "school": s.school, "sis_id": f"NEW-{s.scope}", "first_name": "Sam",
            "last_name": "Reed", "observed_at": s.local_time,
            "description": "Seen with an older man."}, json=False),
    ],
    "concerns/students/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
    ],
    "concerns/<int:concern_id>/": [
        # The reporter (the school's counselor) and those who triage it, read-only.
        Call("GET",  "302  404   200/404  200/404  404      404      200      404"),
    ],
    "concerns/<int:concern_id>/own-report/": [
        Call("POST", "302  404   404      302/404  404      404      404      404",
             lambda s: {"agency": "cws", "phoned_at": timezone.localtime(
                 s.now - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")}, json=False),
    ],
    "reviews/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
    ],
    "reviews/<int:review_id>/decide/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"decision": "overruled", "comment": "Triage it."}, json=False),
    ],
    "triage/": [
        Call("GET",  "302  404   200      404      404      404      200      404"),
    ],
    "triage/<int:concern_id>/open/": [
        Call("POST", "302  404   302/404  404      404      404      302      404", lambda s: {
            "pathway": "suspected_victim", "suspicion_formed_at": s.local_time,
            "summary": "Opened from the queue."}, json=False),
    ],
    "triage/<int:concern_id>/attach/": [
        # The concern names another student than the case's: the triager sees the refusal
        # on the queue (400); everyone else finds no such concern.
        Call("POST", "302  404   400/404  404      404      404      400      404",
             lambda s: {"case": s.case.reference}, json=False),
    ],
    "triage/<int:concern_id>/dismiss/": [
        # confirm=1: the second click, which dismisses (the first only asks, 200).
        Call("POST", "302  404   302/404  404      404      404      302      404",
             lambda s: {"reason": "Duplicate.", "confirm": "1"}, json=False),
    ],
    # --- Pages: cases --------------------------------------------------------------------------
    "cases/": [
        Call("GET",  "302  404   200      200      200      200      200      404"),
    ],
    "cases/<int:case_id>/": [
        Call("GET",  "302  404   200/404  200/404  200      200/404  200      404"),
    ],
    "cases/<int:case_id>/protocol/": [
        Call("GET",  "302  404   200/404  200/404  200      200/404  200      404"),
    ],
    "cases/<int:case_id>/facts/": [
        # School Police judge the evidence (and coordinators); site administrators may not.
        Call("POST", "302  404   403/404  403/404  302      403/404  302      404",
             lambda s: {"reliable_evidence": "yes", "version": s.version}, json=False),
    ],
    "cases/<int:case_id>/steps/<slug:step_id>/complete/": [
        Call("POST", "302  404   302/404  403/404  403      403/404  302      404", lambda s: {
            "occurred_at": s.local_time, "findings": "None found.",
            "other_students_involved": "no", "version": s.version}, json=False),
    ],
    "cases/<int:case_id>/steps/<slug:step_id>/progress/": [
        Call("POST", "302  404   302/404  302/404  403      403/404  302      404", lambda s: {
            "agency": "cws", "phoned_at": s.local_time, "version": s.version},
             step="cws_report", json=False),
    ],
    "cases/<int:case_id>/clock/": [
        Call("POST", "302  404   302/404  403/404  403      403/404  302      404", lambda s: {
            "suspicion_formed_at": timezone.localtime(s.now - timedelta(hours=3)).strftime(
                "%Y-%m-%dT%H:%M"), "reason": "Heard of it earlier.", "version": s.version},
             json=False),
    ],
    "cases/<int:case_id>/steps/<slug:step_id>/not-applicable/": [
        Call("POST", "302  404   302/404  302/404  403      403/404  302      404", lambda s: {
            "reason": "A parent may be involved.", "victim_consulted": "yes",
            "version": s.version}, step="parent_contact", json=False),
    ],
    "cases/<int:case_id>/steps/<slug:step_id>/reopen/": [
        Call("POST", "302  404   302/404  403/404  403      403/404  302      404",
             lambda s: {"reason": "Recorded by mistake.", "version": s.version},
             step="police_involved", json=False),
    ],
    "cases/<int:case_id>/escalate/": [
        Call("POST", "302  404   400/404  403/404  403      403/404  400/302  404", lambda s: {
            "pathway": "confirmed_victim", "reason": "Disclosed.", "version": s.version,
            "confirm": "1"}, json=False),
    ],
    "cases/<int:case_id>/links/": [
        # The page looks the other case up first: the placement office cannot see it, so
        # it hears "no such case" (400) before "your role may not link" (403).
        Call("POST", "302  404   302/404  403/404  403      400/404  302      404",
             lambda s: {"case": s.partner.reference, "relation": "same_incident"}, json=False),
    ],
    "cases/<int:case_id>/links/options/": [
        # The link form's list of the school's other cases: for those who may link only.
        Call("GET",  "302  404   200/404  404      404      404      200      404"),
    ],
    "cases/<int:case_id>/history/<slug:section>/": [
        # Earlier check-ins ("Show earlier check-ins"), read as the case page is.
        Call("GET",  "302  404   200/404  200/404  200      200/404  200      404",
             step="check-ins"),
    ],
    "cases/<int:case_id>/check-in-plan/": [
        Call("POST", "302  404   302/404  302/404  403      403/404  302      404",
             lambda s: {"every_days": "7", "assignee": s.counselor, "version": s.version},
             json=False),
    ],
    "cases/<int:case_id>/check-ins/": [
        Call("POST", "302  404   302/404  302/404  403      403/404  302      404", lambda s: {
            "occurred_at": s.local_time, "method": "in_person", "notes": "Doing better."},
             json=False),
    ],
    "cases/<int:case_id>/notes/": [
        Call("POST", "302  404   302/404  302/404  302      403/404  302      404",
             lambda s: {"text": "Called the aunt."}, json=False),
    ],
    "cases/<int:case_id>/close/": [
        Call("POST", "302  404   409/404  403/404  403      403/404  409      404",
             lambda s: {"outcome": "Moved away.", "version": s.version, "confirm": "1"},
             json=False),
    ],
    "cases/<int:case_id>/people/": [
        Call("POST", "302  404   302/404  302/404  302      403/404  302      404", lambda s: {
            "role": "suspect", "description": "Drives a black sedan.", "version": s.version},
             json=False),
    ],
    "cases/<int:case_id>/people/<int:person_id>/": [
        Call("POST", "302  404   302/404  302/404  302      403/404  302      404", lambda s: {
            "role": "parent", "name": "Rosa Kim", "phone": "555-0100", "version": s.version},
             json=False),
    ],
    "cases/<int:case_id>/student-details/": [
        Call("POST", "302  404   302/404  302/404  403      403/404  302      404",
             lambda s: {"primary_language": "Spanish", "version": s.version}, json=False),
    ],
    "cases/<int:case_id>/void/": [
        Call("POST", "302  404   302/404  403/404  403      403/404  302      404",
             lambda s: {"reason": "Opened for the wrong student.", "version": s.version,
                        "confirm": "1"}, json=False),
    ],
    "cases/<int:case_id>/transfer/": [
        # No placement review has decided a transfer yet, so those allowed get 409.
        Call("POST", "302  404   403/404  403/404  403      409/404  409      404", lambda s: {
            "school": "ROO" if s.scope == "in" else "LIN",
            "completed_at": s.local_time, "version": s.version, "confirm": "1"}, json=False),
    ],
    "cases/<int:case_id>/reopen/": [
        Call("POST", "302  404   409/404  403/404  403      403/404  409      404",
             lambda s: {"reason": "New information.", "version": s.version}, json=False),
    ],
    # --- Pages: attachments, search, a student, my account (issue 14, item 7) ----------------
    "cases/<int:case_id>/attachments/": [
        # As the API: those who work the case; never the placement office.
        Call("POST", "302  404   302/404  302/404  302      403/404  302      404",
             lambda s: {"file": SimpleUploadedFile("scan.pdf", PDF)}, json=False),
    ],
    "cases/<int:case_id>/attachments/<int:attachment_id>/": [
        Call("GET",  "302  404   200/404  200/404  200      403/404  200      404"),
    ],
    "search/": [
        # Roles that read cases; each searches only the cases in its own scope.
        Call("GET",  "302  404   200      200      200      200      200      404"),
    ],
    "students/<str:school_code>/<str:sis_id>/": [
        # Whoever reaches one of the student's cases (or may triage a concern about them).
        Call("GET",  "302  404   200/404  200/404  200      200/404  200      404"),
    ],
    "account/": [
        Call("GET",  "302  200   200      200      200      200      200      200"),
        Call("POST", "302  302   302      302      302      302      302      302",
             lambda s: {"email": "someone@example.org", "language": "es"}, json=False),
    ],
    # --- Pages: the district coordinator's administration area (403 for every other role) ---
    "admin-area/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
    ],
    "admin-area/users/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
        Call("POST", "302  403   403      403      403      403      200      403",
             lambda s: {"username": f"new-{s.scope}", "role": "reporter"}, json=False),
    ],
    "admin-area/users/<str:username>/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
    ],
    "admin-area/users/<str:username>/active/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"active": "no"}, json=False),
    ],
    "admin-area/users/<str:username>/role/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"role": "reporter"}, json=False),
    ],
    "admin-area/users/<str:username>/schools/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"school": s.school}, json=False),
    ],
    "admin-area/users/<str:username>/token/revoke/": [
        Call("POST", "302  403   403      403      403      403      302      403", json=False),
    ],
    "admin-area/users/<str:username>/sessions/end/": [
        Call("POST", "302  403   403      403      403      403      302      403", json=False),
    ],
    "admin-area/users/<str:username>/password/": [
        # The answer is the page showing the one-time password, once.
        Call("POST", "302  403   403      403      403      403      200      403", json=False),
    ],
    "admin-area/schools/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"code": f"N{s.scope.upper()}", "name": "New School"}, json=False),
    ],
    "admin-area/schools/<str:school_code>/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"name": "Renamed School"}, json=False),
    ],
    "admin-area/protocols/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
        # Checking the shipped definition: valid, compared with itself, nothing stored.
        Call("POST", "302  403   403      403      403      403      200      403",
             lambda s: {"definition": SimpleUploadedFile("protocol.yaml", shipped_definition()),
                        "action": "check"}, json=False),
    ],
    "admin-area/protocols/<int:version_id>/": [
        Call("GET",  "302  403   403      403      403      403      200      403"),
    ],
    "admin-area/protocols/<int:version_id>/activate/": [
        Call("POST", "302  403   403      403      403      403      302      403",
             lambda s: {"confirm": "yes"}, json=False),
    ],
    # --- Pages: the SS 8572 from the pages (issue 14, item 1) ----------------------------------
    "cases/<int:case_id>/ss8572.pdf": [
        # As the API's form, but School Police and the placement office get a page saying
        # why (403), and a signed-out browser is sent to sign in.
        Call("GET",  "302  404   200/404  200/404  403      403/404  200      404"),
    ],
    "concerns/<int:concern_id>/ss8572.pdf": [
        # The reporter's own form (here the school's counselor reported it): nobody else's.
        Call("GET",  "302  404   404      200/404  404      404      404      403"),
    ],
    # --- Pages: the idle timer, "Stay signed in" (issue 14, item 2) -------------------------
    "session/": [
        # How long the session has left (asking is not activity); anonymous: 401, not a
        # redirect, since the pages' script asks it.
        Call("GET",  "401  200   200      200      200      200      200      200"),
        # "Stay signed in": refreshes the idle timer (the test client skips CSRF checks).
        Call("POST", "401  200   200      200      200      200      200      200", json=False),
    ],
}
# fmt: on


def shipped_definition() -> bytes:
    """The shipped protocol's definition file, for the administration area's upload."""
    from safestep.protocol import shipped_protocol_paths

    return shipped_protocol_paths()[0].read_bytes()


# --- the scene -------------------------------------------------------------------------


def _resolve(user, case_id: int, step_id: str) -> None:
    services.step_complete(
        acting_user=user,
        case_id=case_id,
        step_id=step_id,
        occurred_at=timezone.now() - timedelta(hours=3),
        details={"agency": "school_police"},
        expected_version=Case.objects.get(pk=case_id).version,
    )


@pytest.fixture
def scenes(district, open_case) -> dict[str, Scene]:
    case_in = open_case("confirmed_victim", school="LIN", sis_id="S-IN")
    partner_in = open_case("suspected_victim", school="LIN", sis_id="S-IN-2")
    case_out = open_case("suspected_victim", school="ROO", sis_id="S-OUT", by="outsider_admin")
    partner_out = open_case("suspected_victim", school="ROO", sis_id="S-OUT-2", by="outsider_admin")
    police = district["school_police"]
    _resolve(police, case_in.pk, "police_involved")
    _resolve(police, case_out.pk, "police_involved")
    made: dict[str, Scene] = {}
    for scope, case, partner, school, counselor in (
        ("in", case_in, partner_in, "LIN", "counselor"),
        ("out", case_out, partner_out, "ROO", "outsider_counselor"),
    ):
        concern = services.concern_submit(
            acting_user=district[counselor],
            school_code=school,
            student=services.StudentInput(sis_id=f"C-{scope}", first_name="Jo", last_name="Kim"),
            observed_at=timezone.now() - timedelta(hours=1),
            description="Seen with an older man.",
            indicators=[],
        )
        attachment = attachment_add(
            acting_user=district[counselor], case_id=case.pk, file_name="scan.pdf", content=PDF
        )
        dismissed = services.concern_submit(
            acting_user=district[counselor],
            school_code=school,
            student=services.StudentInput(sis_id=f"D-{scope}", first_name="Al", last_name="Ng"),
            observed_at=timezone.now() - timedelta(hours=1),
            description="Heard a rumour.",
            indicators=[],
        )
        services.concern_dismiss(
            acting_user=district["site_admin" if scope == "in" else "outsider_admin"],
            concern_id=dismissed.pk,
            reason="A rumour only.",
        )
        person = case_person_add(
            acting_user=district["district_coordinator"],
            case_id=case.pk,
            values={"role": "parent", "name": "Rosa Kim"},
            expected_version=Case.objects.get(pk=case.pk).version,
        )
        made[scope] = Scene(
            scope=scope,
            case=Case.objects.get(pk=case.pk),
            partner=partner,
            concern=concern,
            attachment_id=attachment.pk,
            review_id=Review.objects.get(concern=dismissed).pk,
            person_id=person.pk,
            school=school,
            counselor=counselor,
        )
    return made


@pytest.fixture
def clients(district) -> dict[str, tuple[Client, Client]]:
    """Per role: (page client signed in with the second factor, API client with a token)."""
    made: dict[str, tuple[Client, Client]] = {"anonymous": (Client(), Client())}
    for role in ROLES[1:]:
        made[role] = (
            sign_in_client(Client(), district[role]),
            Client(HTTP_AUTHORIZATION=f"Token {api_token_for(district[role])}"),
        )
    return made


# --- walking the routes ----------------------------------------------------------------


def all_routes() -> list[str]:
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return found


def url_for(route: str, scene: Scene, call: Call) -> str:
    values = {
        "case_id": scene.case.pk,
        "concern_id": scene.concern.pk,
        "attachment_id": scene.attachment_id,
        "review_id": scene.review_id,
        "person_id": scene.person_id,
        "sis_id": scene.case.student.sis_id,
        "step_id": call.step,
        # A part of the case page read a page at a time (its history).
        "section": call.step,
        # The administration area's: a school, an account (the school's counselor), a
        # protocol version (the active one).
        "school_code": scene.school,
        "username": scene.counselor,
    }
    if "<int:version_id>" in route:
        from safestep.definitions.selectors import protocol_active

        values["version_id"] = protocol_active().pk

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AssertionError(f"{route}: no value for <{name}>; add it to url_for()")
        return str(values[name])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def request(client: Client, call: Call, url: str, scene: Scene) -> int:
    body = call.body(scene) if call.body else None
    options: dict[str, Any] = {}
    if body is not None:
        if call.json:
            options = {"data": body, "content_type": "application/json"}
        else:
            options = {"data": body}
    # Roll back what the request changed, and what it did to the browser's cookies (signing
    # out drops the session cookie): every cell starts from the same scene.
    cookies = copy.deepcopy(client.cookies)
    with transaction.atomic():
        response = getattr(client, call.method.lower())(url, **options)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response.status_code


def expected_cells(call: Call) -> dict[str, tuple[int, int]]:
    cells = call.expect.split()
    assert len(cells) == len(ROLES), f"{call.expect!r}: one cell per role in ROLES"
    parsed: dict[str, tuple[int, int]] = {}
    for role, cell in zip(ROLES, cells, strict=True):
        inside, _, outside = cell.partition("/")
        parsed[role] = (int(inside), int(outside or inside))
    return parsed


def as_row(observed: dict[str, tuple[int, int]]) -> str:
    cells = [f"{a}" if a == b else f"{a}/{b}" for a, b in observed.values()]
    return "  ".join(f"{cell:<7}" for cell in cells).rstrip()


def observe(route: str, call: Call, scenes, clients) -> dict[str, tuple[int, int]]:
    is_api = route.startswith("api/")
    observed: dict[str, tuple[int, int]] = {}
    for role in ROLES:
        client = clients[role][1 if is_api else 0]
        statuses = tuple(
            request(client, call, url_for(route, scenes[scope], call), scenes[scope])
            for scope in ("in", "out")
        )
        observed[role] = statuses  # type: ignore[assignment]
    return observed


# --- the tests -------------------------------------------------------------------------


def test_it_has_a_row_for_every_route_and_none_for_routes_that_are_gone():
    routes = all_routes()
    missing = sorted(set(routes) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(routes))
    assert missing == [], f"routes with no row in ACCESS (nothing is open by default): {missing}"
    assert stale == [], f"rows in ACCESS for routes that no longer exist: {stale}"


@pytest.mark.parametrize(
    ("route", "call"),
    [(route, call) for route, calls in ACCESS.items() for call in calls],
    ids=[f"{call.method} /{route}" for route, calls in ACCESS.items() for call in calls],
)
def test_it_answers_each_role_as_the_table_says(route, call, scenes, clients):
    if route not in all_routes():
        pytest.fail(f"/{route} is in ACCESS but not a route of SafeStep")
    observed = observe(route, call, scenes, clients)
    expected = expected_cells(call)
    wrong = {role: observed[role] for role in ROLES if observed[role] != expected[role]}
    assert not wrong, (
        f"{call.method} /{route}: {wrong}\n"
        f"  expected: {as_row(expected)}\n"
        f"  observed: {as_row(observed)}"
    )


SWEEP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REFUSED = {302, 400, 401, 403, 404, 405}


@pytest.mark.parametrize("route", sorted(ACCESS), ids=lambda route: f"/{route}")
def test_it_refuses_every_method_the_table_does_not_list(route, scenes, clients):
    listed = {call.method for call in ACCESS[route]}
    is_api = route.startswith("api/")
    for method in SWEEP_METHODS:
        if method in listed or (method == "GET" and "HEAD" in listed):
            continue
        call = Call(method, "", step="campus_impact", json=False)
        url = url_for(route, scenes["in"], call)
        for role in ("anonymous", "district_coordinator", "site_admin"):
            status = request(clients[role][1 if is_api else 0], call, url, scenes["in"])
            assert status in REFUSED, f"{method} /{route} as {role}: {status}"
