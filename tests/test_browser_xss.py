"""The XSS payloads in a real Chromium: on the pages where learners' and leaders'
text is shown, no payload runs (no dialog, ``window.xss`` never set) and, in the DOM
Chromium built (which is what matters for mutation XSS), no element could run one."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from browser_kit import log_in
from conftest import MENTORING
from shooc.badges.models import BadgeAssertion
from xss import set_up_poisoned

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium journeys: each over 5 s on its own

# What could run, in the DOM: any script not ours, any element with an on* handler,
# frames and plugins, and links or forms to a script URL.
DOM_DANGER = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) found.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(a.name)
          && /^\\s*(javascript|vbscript|data):/i.test(a.value.replace(/[\\t\\n\\r]/g, ''))
          && !(el.tagName === 'IMG' && a.value.startsWith('data:image/'))) found.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
    if (el.tagName === 'SCRIPT' && !(el.getAttribute('src') || '').startsWith('/static/')) found.push('SCRIPT');
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FRAME'].includes(el.tagName)) found.push(el.tagName);
  }
  return found;
}"""


def test_no_payload_runs_in_chromium(live_server, page, tmp_path: Path) -> None:
    base, database = live_server
    folder = tmp_path / "mentoring"
    shutil.copytree(MENTORING, folder)
    with database.session() as session:
        world = set_up_poisoned(session, folder)
        assertion = session.scalar(select(BadgeAssertion).where(BadgeAssertion.id == world["assertion"].id))
        urls = ["/dashboard", "/courses/mentoring/workbooks/the-mentors-role", "/badges",
                f"/badges/assertions/{assertion.id}/evidence", f"/certificates/{world['certificate'].code}"]
        leader_urls = [f"/lead/runs/spring/participants/{world['enrolment'].id}", "/lead/runs/spring/announcements",
                       "/lead/runs/spring/participants"]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def visit(paths: list[str]) -> None:
        for path in paths:
            page.goto(base + path)
            page.wait_for_load_state("load")
            page.mouse.move(200, 300)  # hovering, for onmouseover
            assert page.evaluate("() => window.xss") is None, path
            assert page.evaluate(DOM_DANGER) == [], path

    log_in(page, base, "xss@example.org")
    visit(urls)
    page.context.clear_cookies()
    log_in(page, base, "xss-leader@example.org")
    visit(leader_urls)
    assert dialogs == []
