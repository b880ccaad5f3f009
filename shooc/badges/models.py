"""Issued credentials: an Open Badges 2.0 assertion per submitted workbook, and a
certificate per enrolment that completed every workbook."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shooc.db import Base, utcnow
from shooc.enrolment.models import Enrolment, Submission


class BadgeAssertion(Base):
    __tablename__ = "badge_assertions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, public: the URL's last part
    # NULL once the workbook was handed back (its submission is deleted; this badge,
    # revoked, keeps answering 410): see shooc/enrolment/models.py SubmissionReturn
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"), unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    course_slug: Mapped[str] = mapped_column(String(80))
    workbook_slug: Mapped[str] = mapped_column(String(80))
    # Recipient: "sha256$" + sha256(lower-cased e-mail + salt), as Open Badges wants.
    recipient_identity: Mapped[str] = mapped_column(String(80))
    salt: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[dt.datetime] = mapped_column(default=utcnow)
    evidence_activity_id: Mapped[str | None] = mapped_column(String(80))  # a reflection shown as evidence
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission | None] = relationship()
    enrolment: Mapped[Enrolment] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class Certificate(Base):
    __tablename__ = "certificates"
    # One valid certificate per enrolment (the partial unique index makes two
    # concurrent last submissions one certificate); revoked ones stay beside it, as a
    # handed-back workbook submitted again earns a new certificate.
    __table_args__ = (Index("uq_certificates_enrolment_id_valid", "enrolment_id", unique=True,
                            sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # random, short enough to type
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    holder_name: Mapped[str | None] = mapped_column(String(200))  # as the learner wrote it; erased with the account
    issued_on: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    # The PDF, made once on first request and kept (any app server can serve it).
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)

    enrolment: Mapped[Enrolment] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class CredentialStatus(Base):
    """A credential's place in the revocation status list (Open Badges 3.0's
    ``BitstringStatusListEntry``): the row's id is the credential's index among all
    of the site's credentials (shooc/badges/credentials.py splits them into lists of
    STATUS_LIST_SIZE). Whether its bit is set is read from the badge or certificate
    itself when the list is asked for, so revoking flips it at once."""
    __tablename__ = "credential_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    assertion_id: Mapped[str | None] = mapped_column(ForeignKey("badge_assertions.id", ondelete="CASCADE"),
                                                     unique=True)
    certificate_code: Mapped[str | None] = mapped_column(ForeignKey("certificates.code", ondelete="CASCADE"),
                                                         unique=True)
