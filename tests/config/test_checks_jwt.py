"""The check of simplejwt token sessions, where simplejwt's blacklist is not installed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_sessionmgr.checks import JWT_SERIALIZERS, check_jwt

OBTAIN = JWT_SERIALIZERS["TOKEN_OBTAIN_SERIALIZER"]
APP_CLASS = "django_sessionmgr.tokens.jwt.SessionmgrJWTAuthentication"


def test_nothing_to_say_without_the_app_jwt_pieces(settings: Any) -> None:
    settings.SIMPLE_JWT = {"ROTATE_REFRESH_TOKENS": True}
    assert check_jwt() == []


@pytest.mark.parametrize(
    "setup",
    [
        {"SIMPLE_JWT": {"TOKEN_OBTAIN_SERIALIZER": OBTAIN}},
        {"REST_FRAMEWORK": {"DEFAULT_AUTHENTICATION_CLASSES": [APP_CLASS]}},
    ],
    ids=["serializer", "authentication class"],
)
def test_the_app_jwt_pieces_need_the_blacklist(settings: Any, setup: dict[str, Any]) -> None:
    for name, value in setup.items():
        setattr(settings, name, value)
    [error] = check_jwt()
    assert error.id == "django_sessionmgr.E014"
    assert "rest_framework_simplejwt.token_blacklist" in error.hint
    with pytest.raises(SystemCheckError, match="E014"):
        call_command("check")


def test_a_malformed_setting_is_not_the_checks_business(settings: Any) -> None:
    settings.SIMPLE_JWT = ["not", "a", "dict"]
    settings.REST_FRAMEWORK = None
    assert check_jwt() == []
