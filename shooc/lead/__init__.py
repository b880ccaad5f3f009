"""The course leaders' area: runs, participants, one learner, extensions, feedback,
the audit log."""
