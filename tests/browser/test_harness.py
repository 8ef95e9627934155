"""The browser harness itself: Chromium starts, and axe-core catches what it should.

Needs no Django: `pytest tests/browser/test_harness.py -p no:django` runs it on its own.
"""

import pytest

CLEAN = """<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>A clean page</title></head>
<body>
  <header><p>safehub</p></header>
  <main>
    <h1>A clean page</h1>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A single pixel">
    <label for="name">Name</label> <input id="name" name="name" type="text">
  </main>
</body>
</html>"""

IMAGE_WITHOUT_ALT = CLEAN.replace(' alt="A single pixel"', "")

SAFEHUB_LIKE_CSP = "default-src 'self'; img-src 'self' data:; script-src 'self' 'nonce-abc'"


def test_it_passes_a_clean_page(make_page, assert_accessible):
    page = make_page()
    page.set_content(CLEAN)
    assert_accessible(page)


def test_it_fails_an_image_without_alt_text(make_page, assert_accessible):
    page = make_page()
    page.set_content(IMAGE_WITHOUT_ALT)
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    assert "image-alt (critical)" in str(failure.value)
    assert '"img"' in str(failure.value)


def test_it_can_check_part_of_a_page(make_page, assert_accessible):
    page = make_page()
    page.set_content(
        IMAGE_WITHOUT_ALT.replace("</main>", '</main><footer id="f"><p>ok</p></footer>')
    )
    assert_accessible(page, selector="#f")


def test_it_reports_a_script_blocked_by_the_content_security_policy(make_page, browser_problems):
    # The nonce on every inline <script> matters: a page that forgets it must fail its test.
    page = make_page()
    page.route(
        "http://safehub.test/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'nonce-abc'"},
            body="<!DOCTYPE html><title>t</title><script>1</script>",
        ),
    )
    page.goto("http://safehub.test/")
    page.wait_for_timeout(100)  # console events arrive asynchronously
    assert any("Content Security Policy" in p for p in browser_problems)
    browser_problems.clear()  # provoked on purpose: do not fail this test at teardown


def test_it_runs_axe_on_a_page_with_a_nonce_only_csp(make_page, assert_accessible):
    # safehub's pages allow only scripts with the nonce; axe must still get in.
    page = make_page()
    page.route(
        "http://safehub.test/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": SAFEHUB_LIKE_CSP},
            body=IMAGE_WITHOUT_ALT,
        ),
    )
    page.goto("http://safehub.test/")
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
