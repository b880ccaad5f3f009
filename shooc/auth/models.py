from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from shooc.db import Base, utcnow


class Role(str, enum.Enum):
    learner = "learner"
    leader = "leader"
    evaluator = "evaluator"
    admin = "admin"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, validate_strings=True))
    organisation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def is_leader(self) -> bool:
        """Leaders and admins run courses."""
        return self.role in (Role.leader, Role.admin)
