"""An undeclared page fails closed: not served, whatever its view does."""

import pytest


@pytest.mark.urls("safehub.core.tests.urls_undeclared")
def test_a_page_missing_from_the_access_matrix_is_not_served(client, alice):
    client.force_login(alice)
    assert client.get("/undeclared/").status_code == 404
    assert client.get("/").status_code == 200  # a declared page still is
