"""Every model, imported so that ``Base.metadata`` knows all tables (Alembic, tests)."""
from shooc.api.models import ApiToken
from shooc.audit import AuditEntry
from shooc.auth.models import Role, User
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.community.models import Follow, Helpful, Mute, Notification, Post, Report
from shooc.db import Base
from shooc.enrolment.models import (
    Enrolment,
    PendingDraft,
    Response,
    Run,
    RunMode,
    SelfAssessment,
    SelfRating,
    Submission,
    SubmissionReturn,
)
from shooc.evaluate.models import (
    Evaluation,
    OverallEffect,
    RunCounter,
    RunTally,
    RunWeekCounter,
    RunWorkbookCounter,
    WorkbookStart,
)
from shooc.jobs import Job
from shooc.lead.models import (
    Announcement,
    CalendarFeed,
    LiveSession,
    RecordImport,
    Recording,
    ReminderSent,
    SessionReminderSent,
    TeamMessage,
    WorkbookFeedback,
)
from shooc.lti.models import (
    LtiAccessToken,
    LtiCourseLeader,
    LtiHandoff,
    LtiIdentity,
    LtiLink,
    LtiNonce,
    LtiPlatform,
    LtiScore,
)
from shooc.mailqueue import OutgoingMail
from shooc.signing_keys import SigningKey
from shooc.workbooks.models import ActivityVersion, Asset, ContentUpload, Course, CourseVersion, WorkbookVersion

__all__ = ["ActivityVersion", "Announcement", "ApiToken", "Asset", "AuditEntry", "BadgeAssertion", "Base",
           "CalendarFeed", "Certificate", "ContentUpload", "Course", "CourseVersion", "Enrolment", "Evaluation",
           "Follow", "Helpful", "Job", "LiveSession", "LtiAccessToken", "LtiCourseLeader", "LtiHandoff",
           "LtiIdentity", "LtiLink", "LtiNonce", "LtiPlatform", "LtiScore", "Mute", "Notification", "OutgoingMail",
           "OverallEffect",
           "PendingDraft", "Post", "RecordImport", "Recording", "ReminderSent", "Report", "Response", "Role", "Run",
           "RunCounter", "RunMode", "RunTally", "RunWeekCounter", "RunWorkbookCounter", "SelfAssessment", "SelfRating",
           "SessionReminderSent", "SigningKey", "Submission", "SubmissionReturn", "TeamMessage", "User",
           "WorkbookFeedback", "WorkbookStart",
           "WorkbookVersion"]
