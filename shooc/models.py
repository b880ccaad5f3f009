"""Every model, imported so that ``Base.metadata`` knows all tables (Alembic, tests)."""
from shooc.auth.models import Role, User
from shooc.db import Base
from shooc.enrolment.models import Enrolment, Response, Run, RunMode
from shooc.workbooks.models import ActivityVersion, Asset, Course, CourseVersion, WorkbookVersion

__all__ = ["ActivityVersion", "Asset", "Base", "Course", "CourseVersion", "Enrolment",
           "Response", "Role", "Run", "RunMode", "User", "WorkbookVersion"]
