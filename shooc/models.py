"""Every model, imported so that ``Base.metadata`` knows all tables (Alembic, tests)."""
from shooc.auth.models import Role, User
from shooc.badges.models import BadgeAssertion, Certificate
from shooc.db import Base
from shooc.lead.models import AuditEntry, WorkbookFeedback
from shooc.enrolment.models import Enrolment, PendingDraft, Response, Run, RunMode, Submission
from shooc.workbooks.models import ActivityVersion, Asset, Course, CourseVersion, WorkbookVersion

__all__ = ["ActivityVersion", "Asset", "AuditEntry", "WorkbookFeedback", "BadgeAssertion", "Base", "Certificate", "Course", "CourseVersion", "Enrolment",
           "PendingDraft", "Response", "Role", "Run", "RunMode", "Submission", "User", "WorkbookVersion"]
