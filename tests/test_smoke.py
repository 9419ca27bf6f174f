import pytest

from django_sessionmgr.models import UserSession

from .conftest import logged_in_client, whoami

pytestmark = pytest.mark.django_db


def test_login_revoke(engine, user):
    client = logged_in_client(user)
    other = logged_in_client(user, user_agent="curl/8")
    assert whoami(client) == "alice"
    assert UserSession.objects.active().count() == 2
    row = UserSession.objects.get(user_agent="curl/8")
    assert row.revoke()
    assert whoami(other) is None
    assert whoami(client) == "alice"
