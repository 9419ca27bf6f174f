"""Knox's login views as its docs set them up, and a view only a knox token opens."""

from django.contrib.auth import login
from django.urls import include, path
from knox.auth import TokenAuthentication
from knox.views import LoginView as KnoxLoginView
from rest_framework.authentication import BasicAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_sessionmgr.tokens import knox_views
from tests.urls import urlpatterns as project


class BasicLoginView(KnoxLoginView):
    """A token for basic-auth credentials: no Django login."""

    authentication_classes = [BasicAuthentication]


class SessionLoginView(KnoxLoginView):
    """Knox's other documented login view: Django's login(), then a token."""

    permission_classes = [AllowAny]

    def post(self, request: Request, format: str | None = None) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        login(request, serializer.validated_data["user"])
        return super().post(request, format=format)


class KnoxWhoami(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username()})


urlpatterns = [
    *project,
    path("knox/login/", BasicLoginView.as_view()),
    path("knox/session-login/", SessionLoginView.as_view()),
    # The app's logout views (docs/tokens.md), before knox's own URLs.
    path("knox/logout/", knox_views.LogoutView.as_view(), name="knox_logout"),
    path("knox/logoutall/", knox_views.LogoutAllView.as_view(), name="knox_logoutall"),
    path("knox/", include("knox.urls")),
    path("knox/whoami/", KnoxWhoami.as_view()),
]
