"""Every action the audit trail records, and what each one means in words.

``event_record`` refuses an action that is not listed here (a ValueError: a programming
error), so a typo cannot silently start a new kind of event. Adding an action means adding
it to :class:`Action` and describing it in :data:`DESCRIPTIONS`; a test checks that every
action written anywhere in the code is listed, and that every listed one is described.

A description is a template in plain English. Its placeholders name keys of the event's
payload, plus ``step`` (the event's step); whoever fills one in gives each value as a
person should read it (a pathway's name rather than its id, a choice's label). Templates
are marked for translation and translated where they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from django.utils.translation import gettext_noop


class Action(StrEnum):
    # Case work: a case's own record, told in words on its timeline.
    CASE_OPEN = "case.open"
    CASE_READ = "case.read"
    CASE_FACTS_SET = "case.facts_set"
    STEP_PROGRESS = "step.progress"
    STEP_COMPLETE = "step.complete"
    STEP_NOT_APPLICABLE = "step.not_applicable"
    STEP_REOPEN = "step.reopen"
    CASE_ESCALATE = "case.escalate"
    CASE_LINK = "case.link"
    CASE_CLOCK_MOVE = "case.clock_move"
    # A release's revision of the shipped definition, adopted by an open case.
    CASE_PROTOCOL_REVISION = "case.protocol_revision"
    CHECKIN_PLAN_SET = "checkin.plan_set"
    CHECKIN_RECORD = "checkin.record"
    NOTE_ADD = "note.add"
    CASE_CLOSE = "case.close"
    CASE_REOPEN = "case.reopen"
    CASE_VOID = "case.void"
    CASE_TRANSFER = "case.transfer"
    CASE_CONCERN_ATTACH = "case.concern_attach"
    PERSON_ADD = "case.person_add"
    PERSON_UPDATE = "case.person_update"
    VICTIM_DETAILS_SET = "case.victim_details"
    REVIEW_OPEN = "review.open"
    REVIEW_DECIDE = "review.decide"
    DISCLOSURE_RECORD = "disclosure.record"
    # Concerns.
    CONCERN_SUBMIT = "concern.submit"
    CONCERN_OWN_REPORT = "concern.own_report"
    CONCERN_DISMISS = "concern.dismiss"
    # Documents and files.
    SCAR_GENERATE = "scar.generate"
    STATS_EXPORT = "stats.export"
    ATTACHMENT_ADD = "attachment.add"
    ATTACHMENT_DOWNLOAD = "attachment.download"
    # Reading the trail and the disclosure log.
    AUDIT_READ = "audit.read"
    DISCLOSURE_READ = "disclosure.read"
    # Looking cases and students up (the search, a student's page).
    CASE_SEARCH = "case.search"
    STUDENT_READ = "case.student_read"
    # Refused requests.
    ACCESS_DENIED = "access.denied"
    ACCESS_NOT_FOUND = "access.not_found"
    # Signing in and out, second factors, passwords.
    SIGNIN_SUCCESS = "signin.success"
    SIGNIN_FAILURE = "signin.failure"
    # Single sign-on: the district's identity provider vouched for someone (accepted), or
    # SafeStep refused whom it named, or its answer (payload: reason, e-mail; never a token).
    SIGNIN_SSO = "signin.sso"
    SIGNIN_SSO_REFUSED = "signin.sso_refused"
    SIGNOUT = "signout"
    MFA_ENROL_START = "mfa.enrol_start"
    MFA_ENROL = "mfa.enrol"
    MFA_VERIFY = "mfa.verify"
    MFA_RESET = "mfa.reset"
    MFA_PASSKEY_ADD = "mfa.passkey_add"
    MFA_PASSKEY_VERIFY = "mfa.passkey_verify"
    MFA_PASSKEY_REMOVE = "mfa.passkey_remove"
    USER_PASSWORD_CHANGE = "user.password_change"
    # Accounts, schools, sessions and API tokens.
    SCHOOL_ADD = "school.add"
    SCHOOL_RENAME = "school.rename"
    USER_ADD = "user.add"
    USER_ACCOUNT_SET = "user.account"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_DEACTIVATE = "user.deactivate"
    USER_ACTIVATE = "user.activate"
    USER_ROLE = "user.role"
    USER_SCHOOLS = "user.schools"
    SESSION_REVOKE = "session.revoke"
    TOKEN_CREATE = "token.create"
    TOKEN_ROTATE = "token.rotate"
    TOKEN_REVOKE = "token.revoke"
    # E-mail.
    REMINDER_SEND = "reminder.send"
    REMINDER_DIGEST = "reminder.digest"
    NOTICE_SEND = "notice.send"
    REMINDERS_PREFERENCE_SET = "reminders.preference_set"
    # Operators.
    PROTOCOL_LOAD = "protocol.load"
    PROTOCOL_ACTIVATE = "protocol.activate"
    KEYS_ROTATE = "keys.rotate"
    KEYS_REENCRYPT = "keys.reencrypt"
    ROSTER_IMPORT = "roster.import"
    ROLLUP_REBUILD = "rollup.rebuild"

    @classmethod
    def parse(cls, value: str) -> Action:
        """The action named VALUE; ValueError for anything not listed (a programming error)."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"unknown audit action {value!r}: add it to safestep.audit.actions.Action "
                "and describe it in DESCRIPTIONS"
            ) from None


DESCRIPTIONS: dict[Action, str] = {
    Action.CASE_OPEN: gettext_noop("Opened the case on pathway “%(pathway)s”."),
    Action.CASE_READ: gettext_noop("Viewed the case."),
    Action.CASE_FACTS_SET: gettext_noop("Answered: %(facts)s."),
    Action.STEP_PROGRESS: gettext_noop("Recorded progress on %(step)s."),
    Action.STEP_COMPLETE: gettext_noop("Recorded %(step)s as done."),
    Action.STEP_NOT_APPLICABLE: gettext_noop("Recorded that %(step)s does not apply."),
    Action.STEP_REOPEN: gettext_noop("Reopened %(step)s."),
    Action.CASE_ESCALATE: gettext_noop("Moved the case from “%(from)s” to “%(to)s”."),
    Action.CASE_LINK: gettext_noop("Linked this case to %(reference)s."),
    Action.CASE_CLOCK_MOVE: gettext_noop("Corrected when the suspicion was formed."),
    Action.CASE_PROTOCOL_REVISION: gettext_noop(
        "Now follows revision %(to_revision)s of the protocol (same steps)."
    ),
    Action.CHECKIN_PLAN_SET: gettext_noop(
        "Set the check-ins: every %(every_days)s days, kept by %(assignee)s."
    ),
    Action.CHECKIN_RECORD: gettext_noop("Recorded a check-in."),
    Action.NOTE_ADD: gettext_noop("Added a note."),
    Action.CASE_CLOSE: gettext_noop("Closed the case."),
    Action.CASE_REOPEN: gettext_noop("Reopened the case."),
    Action.CASE_VOID: gettext_noop("Voided the case as opened in error."),
    Action.CASE_TRANSFER: gettext_noop("Moved the case from %(from_school)s to %(to_school)s."),
    Action.CASE_CONCERN_ATTACH: gettext_noop("Added concern %(concern)s to this case."),
    Action.PERSON_ADD: gettext_noop("Added a person to the case (%(role)s)."),
    Action.PERSON_UPDATE: gettext_noop("Changed a person on the case (%(role)s)."),
    Action.VICTIM_DETAILS_SET: gettext_noop("Recorded the student's details for the report form."),
    Action.REVIEW_OPEN: gettext_noop("Asked the district coordinator to review: %(kind)s."),
    Action.REVIEW_DECIDE: gettext_noop("Upheld the decision under review: %(kind)s."),
    Action.DISCLOSURE_RECORD: gettext_noop(
        "Recorded a disclosure outside the school (%(legal_basis)s)."
    ),
    Action.CONCERN_SUBMIT: gettext_noop("Reported concern %(concern)s at %(school)s."),
    Action.CONCERN_OWN_REPORT: gettext_noop(
        "Recorded the reporter's own report to %(agency)s on concern %(concern)s."
    ),
    Action.CONCERN_DISMISS: gettext_noop("Dismissed concern %(concern)s."),
    Action.SCAR_GENERATE: gettext_noop("Printed the SS 8572 (child abuse report) form."),
    Action.STATS_EXPORT: gettext_noop("Exported de-identified statistics from %(from)s to %(to)s."),
    Action.ATTACHMENT_ADD: gettext_noop("Added an attachment."),
    Action.ATTACHMENT_DOWNLOAD: gettext_noop("Downloaded an attachment."),
    Action.AUDIT_READ: gettext_noop("Read the audit trail."),
    Action.DISCLOSURE_READ: gettext_noop(
        "Read the disclosure log of SIS id %(student)s (%(found)s entries)."
    ),
    Action.CASE_SEARCH: gettext_noop("Searched the cases (%(results)s found)."),
    Action.STUDENT_READ: gettext_noop("Viewed the page of a student of %(school)s."),
    Action.ACCESS_DENIED: gettext_noop("Was refused %(method)s %(path)s (not for this role)."),
    Action.ACCESS_NOT_FOUND: gettext_noop(
        "Was refused %(method)s %(path)s (a case they may not see)."
    ),
    Action.SIGNIN_SUCCESS: gettext_noop("Signed in."),
    Action.SIGNIN_FAILURE: gettext_noop("Failed to sign in as %(username)s."),
    Action.SIGNIN_SSO: gettext_noop(
        "Was identified by the district's identity provider as %(email)s."
    ),
    Action.SIGNIN_SSO_REFUSED: gettext_noop(
        "Was refused single sign-on as %(email)s (%(reason)s)."
    ),
    Action.SIGNOUT: gettext_noop("Signed out."),
    Action.MFA_ENROL_START: gettext_noop("Began setting up a second factor."),
    Action.MFA_ENROL: gettext_noop("Set up a second factor."),
    Action.MFA_VERIFY: gettext_noop("Gave a second factor."),
    Action.MFA_RESET: gettext_noop("Reset the second factor of %(username)s."),
    Action.MFA_PASSKEY_ADD: gettext_noop("Added a passkey as a second factor."),
    Action.MFA_PASSKEY_VERIFY: gettext_noop("Gave a passkey as the second factor."),
    Action.MFA_PASSKEY_REMOVE: gettext_noop("Removed a passkey (%(passkeys_left)s left)."),
    Action.USER_PASSWORD_CHANGE: gettext_noop("Changed their password."),
    Action.SCHOOL_ADD: gettext_noop("Added the school %(code)s (%(name)s)."),
    Action.SCHOOL_RENAME: gettext_noop("Renamed the school %(code)s to %(name)s."),
    Action.USER_ADD: gettext_noop("Added the account %(username)s (%(role)s)."),
    Action.USER_ACCOUNT_SET: gettext_noop("Changed their e-mail address or language."),
    Action.USER_PASSWORD_RESET: gettext_noop("Reset the password of %(username)s."),
    Action.USER_DEACTIVATE: gettext_noop("Deactivated the account %(username)s."),
    Action.USER_ACTIVATE: gettext_noop("Activated the account %(username)s."),
    Action.USER_ROLE: gettext_noop("Changed the role of %(username)s from %(from)s to %(to)s."),
    Action.USER_SCHOOLS: gettext_noop("Changed the schools of %(username)s to %(to)s."),
    Action.SESSION_REVOKE: gettext_noop("Ended the sessions of %(username)s."),
    Action.TOKEN_CREATE: gettext_noop("Created an API token for %(username)s."),
    Action.TOKEN_ROTATE: gettext_noop("Replaced the API token of %(username)s."),
    Action.TOKEN_REVOKE: gettext_noop("Revoked the API token of %(username)s."),
    Action.REMINDER_SEND: gettext_noop("E-mailed %(to)s a reminder (%(kind)s)."),
    Action.REMINDER_DIGEST: gettext_noop("E-mailed %(to)s the daily digest for %(day)s."),
    Action.NOTICE_SEND: gettext_noop("E-mailed %(to)s a notice (%(kind)s)."),
    Action.REMINDERS_PREFERENCE_SET: gettext_noop("Changed how they are reminded."),
    Action.PROTOCOL_LOAD: gettext_noop("Loaded protocol %(protocol)s version %(version)s."),
    Action.PROTOCOL_ACTIVATE: gettext_noop(
        "Made protocol %(protocol)s version %(version)s the one new cases follow."
    ),
    Action.KEYS_ROTATE: gettext_noop("Made %(key_id)s the current encryption key."),
    Action.KEYS_REENCRYPT: gettext_noop("Re-encrypted %(values)s values with the key %(key_id)s."),
    Action.ROSTER_IMPORT: gettext_noop(
        "Imported the roster from the student information system: schools (%(schools)s), "
        "staff (%(staff)s), students (%(students)s)."
    ),
    Action.ROLLUP_REBUILD: gettext_noop(
        "Recounted the dashboard's figures from the cases: %(cells)s cells, "
        "%(corrected)s figures corrected."
    ),
}

# Where a payload value changes how an event reads: action -> (payload key, value,
# description used when the payload has that value).
VARIANTS: dict[Action, tuple[str, object, str]] = {
    Action.STEP_COMPLETE: (
        "late",
        True,
        gettext_noop("Recorded %(step)s as done, after its due time."),
    ),
    Action.REVIEW_DECIDE: (
        "decision",
        "overruled",
        gettext_noop("Overruled the decision under review: %(kind)s."),
    ),
}

# The case's own record, which its timeline tells in words. Anything else on a case (forms
# printed, files, e-mails, refused requests) shows there by its code, as on the audit page.
CASE_WORK: frozenset[Action] = frozenset(
    {
        Action.CASE_OPEN,
        Action.CASE_READ,
        Action.CASE_FACTS_SET,
        Action.STEP_PROGRESS,
        Action.STEP_COMPLETE,
        Action.STEP_NOT_APPLICABLE,
        Action.STEP_REOPEN,
        Action.CASE_ESCALATE,
        Action.CASE_LINK,
        Action.CASE_CLOCK_MOVE,
        Action.CASE_PROTOCOL_REVISION,
        Action.CHECKIN_PLAN_SET,
        Action.CHECKIN_RECORD,
        Action.NOTE_ADD,
        Action.CASE_CLOSE,
        Action.CASE_REOPEN,
        Action.CASE_VOID,
        Action.CASE_TRANSFER,
        Action.CASE_CONCERN_ATTACH,
        Action.PERSON_ADD,
        Action.PERSON_UPDATE,
        Action.VICTIM_DETAILS_SET,
        Action.REVIEW_OPEN,
        Action.REVIEW_DECIDE,
        Action.DISCLOSURE_RECORD,
    }
)


def description(action: Action, payload: Mapping[str, object]) -> str:
    """The (untranslated) description template of an event with ACTION and PAYLOAD."""
    variant = VARIANTS.get(action)
    if variant is not None and payload.get(variant[0]) == variant[1]:
        return variant[2]
    return DESCRIPTIONS[action]
