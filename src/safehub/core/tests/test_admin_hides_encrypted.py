"""The admin never shows an encrypted field: its staff run the service and do not need a
notice's content, an e-mail's body or a victim's address (issue: shown only to roles that need
them). Every model the admin registers is checked, so a new one cannot show one by mistake."""

import pytest
from django.contrib import admin
from django.urls import reverse

from safehub.core.fields import encrypted_field_names
from safehub.core.outbox import outbox_enqueue

pytestmark = pytest.mark.django_db


def test_no_admin_shows_an_encrypted_field():
    shown = []
    for model, model_admin in admin.site._registry.items():
        hidden = set(model_admin.exclude or ())
        for name in encrypted_field_names(model):
            if name not in hidden:
                shown.append(f"{model._meta.label}.{name}")
    assert not shown, f"the admin shows encrypted fields: {shown}"


def test_an_outbox_message_page_shows_where_it_stands_not_what_it_says(make_user, client):
    from django.db import transaction

    staff = make_user("staff", "LA344", "administrator", is_staff=True, is_superuser=True)
    with transaction.atomic():
        message = outbox_enqueue(
            recipients=["dsl.900001@school.example"],
            subject="Operation Encompass notice",
            body="Amy Example, born 11/06/2017, was present.",
            reason="encompass_notice",
            attachments=[
                {"filename": "a.txt", "content_base64": "QW15", "content_type": "text/plain"}
            ],
        )
    client.force_login(staff)
    page = client.get(reverse("admin:core_outboxmessage_change", args=[message.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "encompass_notice" in text and "dsl.900001@school.example" in text
    assert "Amy Example" not in text and "a.txt" not in text
