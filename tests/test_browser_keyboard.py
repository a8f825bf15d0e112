"""The keyboard alone (issue 13, point 8): Tab, Shift+Tab, Enter, Space, arrows and typing, never a click. A
vendor files an account request; the demo contributor signs in, opens a questionnaire from her work list, answers
and submits it; the demo manager grants her a right on /team.

At every key press that moves the focus, the focused element must be on screen, not hidden under something
else, and show a focus indicator: an outline of at least 2 px (not transparent) or a box-shadow, on the element
or on the label that wraps it. Those findings are collected along the way and reported together at the end of
each leg, so that one missing ring does not hide the others; a leg that cannot go on fails at once, with the
findings so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Convergence-Demo-2026"
MANAGER = "manager@editeur-demo.example"
CONTRIBUTOR = "contributor@editeur-demo.example"
MAX_TABS = 80

# What the focused element looks like: None when it is fine, else the problems, and a short description.
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement)
    return {who: '<body>', problems: ['nothing is focused: the focus fell back to <body>']};
  const describe = e => {
    let text = e.tagName.toLowerCase();
    if (e.id) text += '#' + e.id;
    else if (e.classList.length) text += '.' + [...e.classList].slice(0, 2).join('.');
    if (e.type && e.tagName === 'INPUT') text += '[type=' + e.type + ']';
    const name = (e.getAttribute('aria-label') || e.innerText || e.value || e.name || '').trim().replace(/\\s+/g, ' ');
    return text + (name ? ' "' + name.slice(0, 40) + '"' : '');
  };
  const opaque = color => !/^(transparent|rgba\\(.*,\\s*0\\))$/.test(color);
  const ring = e => {
    const s = getComputedStyle(e);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && opaque(s.outlineColor))
      return 'outline ' + s.outlineWidth;
    if (s.boxShadow && s.boxShadow !== 'none') return 'box-shadow';
    return null;
  };
  const problems = [];
  // A native radio or checkbox drawn by its label: the label is what must show the ring.
  const label = el.closest('label') || (el.labels && el.labels[0]) || null;
  const shown = [el, label].filter(Boolean).find(e => {
    const box = e.getBoundingClientRect();
    return box.width >= 4 && box.height >= 4 && e.checkVisibility({opacityProperty: true, visibilityProperty: true});
  });
  if (!shown) problems.push('not visible (no size, hidden or transparent)');
  else {
    const box = shown.getBoundingClientRect();
    if (box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth)
      problems.push('off screen (' + Math.round(box.left) + ',' + Math.round(box.top) + ')');
    else {
      const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
      const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
      const hit = document.elementFromPoint(x, y);
      if (hit && !(shown.contains(hit) || hit.contains(shown) || (label && label.contains(hit))))
        problems.push('covered by ' + describe(hit));
    }
  }
  const indicator = ring(el) || (label && ring(label));
  if (!indicator && /^(date|datetime-local|time|month|week)$/.test(el.type) && !el.matches(':focus-visible'))
    // Chromium's last Tab stop in a date field is its calendar button, inside the field: the field matches
    // :focus but not :focus-visible, so a ring drawn on :focus-visible is gone (only the browser's thin one on
    // the icon is left). `input[type=date]:focus` (or :focus-within) keeps it.
    problems.push('no focus indicator on the calendar button of the date field (it matches :focus, not ' +
                  ':focus-visible)');
  else if (!indicator) {
    const s = getComputedStyle(el);
    problems.push('no focus indicator (outline: ' + s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor +
                  '; box-shadow: ' + s.boxShadow + ')');
  }
  return {who: describe(el), problems};
}"""


@dataclass
class Keyboard:
    """Drives a page by keys only and keeps what the focus checks found, by step of the journey."""

    page: Any
    step: str = ""
    findings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)

    def check_focus(self) -> None:
        seen = self.page.evaluate(FOCUS_JS)
        self.trail = (self.trail + [seen["who"]])[-8:]
        if seen["problems"]:
            self.findings.setdefault(self.step, {}).setdefault(seen["who"], seen["problems"])

    def press(self, key: str, *, check: bool = True) -> None:
        self.page.keyboard.press(key)
        if check:
            self.check_focus()

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def focused(self, selector: str) -> bool:
        return self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)

    def tab_to(self, selector: str, *, back: bool | None = None, limit: int = MAX_TABS) -> None:
        """Tab (or Shift+Tab) until the focused element matches `selector`, checking the focus at each stop.

        Without `back`, the direction is the one towards the first match in the page's order."""
        if back is None:
            back = self.page.evaluate("""(s) => {
              const target = document.querySelector(s), here = document.activeElement;
              return !!target && !!here && here !== document.body &&
                     !!(here.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING);
            }""", selector)
        for _ in range(limit):
            self.press("Shift+Tab" if back else "Tab")
            if self.focused(selector):
                return
        raise AssertionError(f"[{self.step}] {'Shift+' if back else ''}Tab never reached {selector} in {limit} "
                             f"presses on {self.page.url}; last stops: {' → '.join(self.trail)}\n{self.report()}")

    def report(self) -> str:
        lines = []
        for step, elements in self.findings.items():
            lines.append(f"{step}:")
            lines += [f"    {who}: {'; '.join(problems)}" for who, problems in elements.items()]
        return "\n".join(lines)

    def assert_focus_always_visible(self) -> None:
        if self.findings:
            count = sum(len(e) for e in self.findings.values())
            pytest.fail(f"{count} focus stops without a visible focus indicator, by step:\n{self.report()}",
                        pytrace=False)


def sign_in(keys: Keyboard, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page = keys.page
    keys.step = f"sign-in ({email})"
    keys.tab_to("header a[href='/login']")
    keys.press("Enter", check=False)
    page.wait_for_url(re.compile(r"/login$"))
    keys.tab_to("#f-email")
    keys.type(email)
    keys.tab_to("#f-password")
    keys.type(password)
    keys.press("Enter", check=False)
    page.wait_for_url(re.compile(r"/($|terms)"))
    if "/terms" in page.url:
        keys.step = f"terms of use ({email})"
        keys.tab_to("input[name=agree]")
        keys.press("Space")
        keys.tab_to("form.accept button[type=submit]")
        keys.press("Enter", check=False)
    expect(page.locator("h1")).to_contain_text("Bienvenue")


@pytest.fixture
def keys(page) -> Keyboard:  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 900})
    return Keyboard(page)


def test_an_account_request_by_keyboard(keys):
    from playwright.sync_api import expect

    page = keys.page
    page.goto("/")
    keys.step = "home page → account request form"
    keys.tab_to("a[href='/account-request']")
    keys.press("Enter", check=False)
    page.wait_for_url(re.compile(r"/account-request$"))

    keys.step = "account request form"
    for selector, text in (("#f-company_name", "Clavier Santé SAS"), ("#f-siren", "383474814"),
                           ("#f-first_name", "Léa"), ("#f-last_name", "Touche"),
                           ("#f-email", "lea.touche@clavier.example"), ("#f-job_title", "Présidente")):
        keys.tab_to(selector)
        keys.type(text)
    keys.tab_to("input[name=is_corporate_officer]")  # one stop for the group; "officer" is already chosen
    expect(page.locator("input[name=is_corporate_officer][value=yes]")).to_be_checked()
    keys.tab_to("#account-request-form button[type=submit]")
    keys.press("Enter", check=False)
    expect(page.locator("h1")).to_have_text("Votre demande a été envoyée")
    keys.assert_focus_always_visible()


def test_the_contributor_answers_and_submits_a_questionnaire_by_keyboard(keys):
    from playwright.sync_api import expect

    page = keys.page
    page.goto("/")
    sign_in(keys, CONTRIBUTOR, DEMO_PASSWORD)

    keys.step = "work list → questionnaire"
    keys.tab_to("main a[href^='/responses/']")
    keys.press("Enter", check=False)
    page.wait_for_url(re.compile(r"/responses/\d+"))
    workspace = page.locator("#workspace")
    expect(workspace).to_have_attribute("data-editable", "true")

    keys.step = "answering a question"
    next_missing = page.locator("#next-missing")
    if not next_missing.is_visible():  # all answered already (returned for changes): change the first answer
        keys.tab_to(".questionnaire-section.current form.item:not([hidden]) :is(input:not([type=hidden]), textarea)")
        answer(keys)
    for _ in range(60):  # every required question left, through "next unanswered required question"
        if not next_missing.is_visible():
            break
        keys.tab_to("#next-missing a")
        keys.press("Enter", check=False)  # the script moves the focus to the question's first control
        answer(keys)

    keys.step = "submitting"
    keys.tab_to("form[action$='/submit'] button")
    keys.press("Enter", check=False)
    expect(page.locator("#feedback")).to_contain_text("Soumis pour validation.")
    expect(page.locator("#summary-status")).to_contain_text("Soumis")
    keys.assert_focus_always_visible()


def answer(keys: Keyboard) -> None:
    """Answers the question holding the focus, by keys, and waits for its autosave."""
    from playwright.sync_api import expect

    page = keys.page
    form = page.locator("form.item:focus-within")
    expect(form).to_have_count(1)
    keys.check_focus()
    kind = form.get_attribute("data-type")
    if kind in ("boolean", "choice"):
        checked = page.evaluate("document.activeElement.checked")
        keys.press("ArrowDown" if checked else "Space")  # another option, or the first one
    elif kind == "multi_choice":
        keys.press("Space")
    elif kind in ("text", "number"):
        keys.type(" Réponse au clavier." if kind == "text" else "1")
        keys.press("Tab")  # leaving the field saves it
    else:  # a date, typed day, month, year (the French order)
        control = form.locator("input[type=date]")
        day = control.get_attribute("max") or control.get_attribute("min") or "2026-06-15"
        keys.type("".join(reversed(day.split("-"))))
        keys.press("Tab")
    expect(form.locator(".save-status")).to_contain_text("Enregistré à")


def test_the_manager_grants_a_right_by_keyboard(keys):
    from playwright.sync_api import expect

    page = keys.page
    page.goto("/")
    sign_in(keys, MANAGER, DEMO_PASSWORD)

    keys.step = "navigation → team"
    keys.tab_to("header nav a[href='/team']")
    keys.press("Enter", check=False)
    expect(page.locator("h1")).to_contain_text("Équipe")

    keys.step = "team → a member's rights"
    keys.tab_to("a[href^='/team/members/'][href$='/rights']")
    member_rights = page.evaluate("document.activeElement.getAttribute('href')")
    keys.press("Enter", check=False)  # the panel opens in place, its heading focused
    expect(page.locator("#rights-panel h2")).to_be_focused()
    keys.check_focus()

    keys.step = "granting a right"
    target = page.evaluate("""() => {
      const selects = [...document.querySelectorAll('#rights-form .rights-row select')];
      const select = selects.find(s => s.value === '') || selects.find(s => s.value !== 'validate');
      return select && select.id;
    }""")
    assert target, "no product right left to raise"
    keys.tab_to(f"#{target}")
    keys.press("End")  # the highest level: validate
    expect(page.locator(f"#{target}")).to_have_value("validate")
    keys.tab_to("#rights-form button.primary")
    keys.press("Enter", check=False)
    notice = page.locator("#rights-notice")
    expect(notice).to_contain_text("enregistrés")
    expect(notice).to_be_focused()
    keys.check_focus()  # the saved notice, focused by the page, shows it too

    page.goto(member_rights)  # stored: a fresh page shows it
    expect(page.locator(f"#{target}")).to_have_value("validate")
    keys.assert_focus_always_visible()
