"""shooc as an LTI 1.3 tool (issue 20): a university's Moodle or Canvas launches its
courses, with LTI Advantage's Deep Linking, Assignment and Grade Services (scores
sent back) and Names and Role Provisioning (the roster).

- ``models.py``: registered platforms, the (iss, sub) of each account, per-course
  leader grants, single-use nonces, each launched link's grade service, the queue of
  scores, the access tokens.
- ``protocol.py``: the messages themselves (JWTs verified and signed with joserfc),
  and the one function that makes HTTP calls to platforms.
- ``services.py``: registration, what a launch does (account, enrolment, role),
  deep linking, the score queue and its job, the roster.
- ``views.py``: ``/lti/...`` (login, launch, JWKS, deep linking, roster) and
  ``/admin/lti`` (platforms).

Library decision: a small core of our own on ``joserfc`` rather than pylti1p3
2.0.0. pylti1p3 works with Flask 3, but its last release was in 2022, it brings
PyJWT, requests and jwcrypto besides, keeps its state (nonces, launch data) in a
cache we would have to wire to every app server, and has its own tool
configuration beside our database. What LTI 1.3 asks of a tool is a few JWT checks
(IMS Security Framework §5.1.3), one signed message (the deep linking response) and
a client-credentials grant (RFC 7523): about 300 lines over joserfc, which is
maintained, typed, and what the test platform is built on too (tests/lti_platform.py),
so the two sides share only the standard.
"""
