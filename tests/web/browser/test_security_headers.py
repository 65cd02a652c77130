"""The security headers as Chromium reads them: every feature we switch off is off, the policy lets
our own forms post (login, then a redirect), and the browser reports nothing about any policy: no
CSP violation, no Permissions-Policy feature it does not know."""

from __future__ import annotations

import re

from playwright.sync_api import expect

#: what Chromium prints when a policy refuses something or cannot be read
POLICY_WORDS = ("Content Security Policy", "Permissions-Policy", "Cross-Origin", "form-action")


def test_the_browser_honours_the_headers_and_complains_about_none_of_them(page):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))

    for path in ("/", "/tra-cuu", "/xac-thuc", "/dang-nhap"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    off = page.evaluate("['camera', 'microphone', 'geolocation', 'payment', 'usb']"
                        ".filter(f => document.featurePolicy.allowsFeature(f))")
    page.locator("#username").fill("tiepnhan")
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()

    expect(page).to_have_url(re.compile(r"/cong-viec$"))  # form-action 'self' lets our login post
    assert off == [], "features the Permissions-Policy switches off are still allowed"
    assert [m for m in messages if any(word in m for word in POLICY_WORDS)] == []
