"""Hostile tests of DRF authtoken sessions: the same set-up as settings_drf_tokens."""

from tests.integration.settings_drf_tokens import *  # noqa: F403
