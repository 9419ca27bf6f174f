from tests.revoke.test_in_transactions import urls_b as urlpatterns  # noqa: F401
