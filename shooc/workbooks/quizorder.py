"""Quiz options in an order of each learner's own, under values that tell nothing.

Decisions (issue 19):

- In a course's source the correct option is often the first, and the form used to
  send each option's source index (``0``, ``1``...): a learner reading the page's
  HTML could tell which option was right, or guess it from the order. Now each
  option is shown under a **code**, 16 hex digits of
  HMAC-SHA256(learner key, activity id | question id | source index), where the
  learner key is HMAC-SHA256(the app's ``SECRET_KEY``, "quiz-options" | user id).
  Without the secret a code says nothing about the option's place in the source.
- The options are shown **sorted by their codes**: a shuffle that is the same for a
  learner on every visit, after a refused post and when they read their submitted
  workbook again, different between learners (and between questions), and needs
  nothing stored. The codes are pseudo-random, so the order reveals no more than the
  values do.
- The key is the **user's**, not the enrolment's: a learner who joins a later run with
  their answers carried over sees the same order.
- Answers are stored as before, as **source indexes** (``choices`` of a quiz's
  answer): codes are decoded when a form is read (``decode``) and encoded when saved
  choices are put back into a form (``encode``), so answers stored before this
  change, the marking, the lead pages and the portfolio PDF need nothing new.
  Course leaders' previews and their read-only views show the source order.
- A code that is not one of the question's (a forged post, a page from before the
  secret key changed) is ignored, as an index out of range was.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Iterable

CODE_HEX_DIGITS = 16


def learner_key(secret: str | bytes, user_id: int) -> bytes:
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret_bytes, f"quiz-options|{user_id}".encode(), hashlib.sha256).digest()


def option_code(key: bytes, activity_id: str, question_id: str, index: int) -> str:
    message = f"{activity_id}|{question_id}|{index}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:CODE_HEX_DIGITS]


def ordered(key: bytes, activity_id: str, question_id: str, count: int) -> list[tuple[int, str]]:
    """(source index, code) of each of a question's ``count`` options, in this learner's order."""
    codes = [(index, option_code(key, activity_id, question_id, index)) for index in range(count)]
    return sorted(codes, key=lambda pair: pair[1])


def decode(key: bytes, activity_id: str, question_id: str, count: int, values: Iterable[str]) -> list[int]:
    """The source indexes of the codes posted for one question (unknown codes ignored)."""
    by_code = {code: index for index, code in ordered(key, activity_id, question_id, count)}
    return sorted({by_code[value] for value in values if value in by_code})


def encode(key: bytes, activity_id: str, question_id: str, indexes: Iterable[int]) -> list[str]:
    return [option_code(key, activity_id, question_id, int(index)) for index in indexes]

