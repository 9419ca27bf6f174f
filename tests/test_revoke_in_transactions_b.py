from .test_revoke_in_transactions import urls_b as urlpatterns  # noqa: F401
