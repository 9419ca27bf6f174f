"""HTML pages: mount with ``path("account/sessions/", include("django_sessionmgr.urls"))``."""

from django.urls import path

from . import views

app_name = "sessionmgr"

urlpatterns = [
    path("", views.SessionListView.as_view(), name="list"),
    path("<uuid:pk>/revoke/", views.SessionRevokeView.as_view(), name="revoke"),
    path("<uuid:pk>/not-me/", views.SessionNotMeView.as_view(), name="not_me"),
    path("revoke-others/", views.SessionRevokeOthersView.as_view(), name="revoke_others"),
    path("sign-out/", views.SessionSignOutView.as_view(), name="sign_out"),
    path(
        "revoke-others/confirm/",
        views.SessionRevokeOthersConfirmView.as_view(),
        name="revoke_others_confirm",
    ),
]
