"""Hostile tests of knox token sessions: the same set-up as settings_knox_tokens."""

from tests.integration.settings_knox_tokens import *  # noqa: F403
