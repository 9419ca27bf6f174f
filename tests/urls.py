from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html")),
    path("accounts/logout/", auth_views.LogoutView.as_view()),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="admin/login.html", success_url="/whoami/"
        ),
        name="password_change",
    ),
    path("whoami/", views.whoami),
    path("async-whoami/", views.async_whoami),
    path("async-login/", views.async_login),
    path("rotate/", views.rotate),
    path("set-expiry/", views.set_expiry),
    path("account/sessions/", include("django_sessionmgr.urls")),
    path("api/", include("django_sessionmgr.api.urls")),
]
