"""JSON shapes of a session, as docs/api.md documents them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..conf import app_settings
from ..models import NAME_MAX_LENGTH, FlagReason, RevokeReason, UserSession
from ..network import stored_ip
from .authentication import authenticating_session_id
from .schema import extend_schema_field


class DeviceSerializer(serializers.Serializer[Any]):
    """Documents the ``device`` object in the OpenAPI schema."""

    browser = serializers.CharField()
    os = serializers.CharField()
    device = serializers.CharField()
    type = serializers.ChoiceField(choices=UserSession.DeviceType.choices)


class LocationSerializer(serializers.Serializer[Any]):
    """Documents the ``location`` object in the OpenAPI schema."""

    city = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")


class StoredIPAddressField(serializers.IPAddressField):
    """An address as ``IP_ADDRESS_STORAGE`` allows now, however it was stored."""

    def to_representation(self, value: str) -> Any:
        # Rows written before the setting was lowered may hold more.
        return stored_ip(value)


class UserSessionSerializer(serializers.ModelSerializer[UserSession]):
    """A session as its owner sees it. The session key is never a field."""

    ip_address = StoredIPAddressField(read_only=True, allow_null=True, label=_("IP address"))
    last_ip_address = StoredIPAddressField(
        read_only=True, allow_null=True, label=_("last IP address")
    )
    last_location = serializers.SerializerMethodField()
    impersonated = serializers.BooleanField(
        read_only=True, help_text=_("Started by staff while acting as the user.")
    )
    status = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(
        choices=UserSession.Kind.choices,
        read_only=True,
        help_text=_(
            "How the user is signed in: `session` (a browser), `drf_token`, `knox`, "
            "`jwt` (an app's refresh-token family) or `app_session` (a mobile app)."
        ),
    )
    name = serializers.CharField(
        read_only=True,
        help_text=_("The label the user gave the session; empty for none (show the device)."),
    )
    access_valid_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Until when an access token issued before the session ended may still be "
            "accepted (simplejwt's stock authentication class); null otherwise."
        ),
    )
    is_current = serializers.SerializerMethodField()
    revoke_reason = serializers.SerializerMethodField()
    device = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    revoke_reason_display = serializers.SerializerMethodField(
        help_text=_(
            "Why the session is over, as a sentence in the user's language; null while active."
        )
    )
    idle_timeout = serializers.SerializerMethodField(
        help_text=_("Seconds without activity after which the session ends; null for none.")
    )
    flagged_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_("When something first looked like a stolen session; null while nothing did."),
    )
    flag_reason = serializers.ChoiceField(
        choices=FlagReason.choices,
        read_only=True,
        allow_null=True,
        source="flag_reason_code",
        help_text=_(
            "What looked wrong: `impossible_travel` (used from two places too far apart for "
            "the time between them) or `new_country` (a sign-in from a country none of the "
            "user's recent sessions came from); null while nothing did."
        ),
    )

    class Meta:
        model = UserSession
        fields = [
            "id",
            "status",
            "is_current",
            "kind",
            "name",
            "ip_address",
            "user_agent",
            "device",
            "location",
            "last_ip_address",
            "last_location",
            "impersonated",
            "created_at",
            "last_activity_at",
            "expires_at",
            "access_valid_until",
            "idle_timeout",
            "ended_at",
            "revoked_at",
            "revoke_reason",
            "revoke_reason_display",
            "flagged_at",
            "flag_reason",
        ]
        read_only_fields = fields

    def get_revoke_reason(self, obj: UserSession) -> str | None:
        """The code the row records (staff's own words read ``admin``, unless
        ``NOTICE_SHOWS_FREE_TEXT_REASON``); null while active."""
        return obj.revoke_reason_code

    def get_revoke_reason_display(self, obj: UserSession) -> str | None:
        return obj.revoke_reason_display

    def get_idle_timeout(self, obj: UserSession) -> int | None:
        """The policy in force; ``expires_at`` already holds the end it leads to."""
        return app_settings.IDLE_TIMEOUT if obj.is_active else None

    @extend_schema_field(serializers.ChoiceField(choices=UserSession.Status.choices))
    def get_status(self, obj: UserSession) -> str:
        return obj.effective_status

    def get_is_current(self, obj: UserSession) -> bool:
        # Only the session that authenticated this request is current (a token
        # session by its own token), never a cookie that rode along with a
        # token or basic-auth request.
        request = self.context.get("request")
        return request is not None and authenticating_session_id(request) == str(obj.pk)

    @extend_schema_field(DeviceSerializer)
    def get_device(self, obj: UserSession) -> dict[str, str]:
        return {
            "browser": obj.device_browser,
            "os": obj.device_os,
            "device": obj.device_family,
            "type": obj.device_type,
        }

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_location(self, obj: UserSession) -> dict[str, str] | None:
        if not (obj.location_city or obj.location_country):
            return None
        return {"city": obj.location_city, "country": obj.location_country}

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_last_location(self, obj: UserSession) -> dict[str, str] | None:
        if not (obj.last_location_city or obj.last_location_country):
            return None
        return {"city": obj.last_location_city, "country": obj.last_location_country}


class SessionNameField(serializers.CharField):
    """A session's name: text of printable characters (``str.isprintable``: no
    control characters, line breaks, tabs or invisible format characters),
    without the spaces around it; at most ``NAME_MAX_LENGTH`` characters."""

    default_error_messages = {
        "invalid": _("Give the name as text."),
        "unprintable": _(
            "Use printable characters only: no line breaks, tabs or control characters."
        ),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        # Only plain spaces are trimmed (below): a line break is refused, not dropped.
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        # CharField would take a number or a boolean's text as a name.
        if not isinstance(data, str):
            self.fail("invalid")
        if not data.isprintable():
            self.fail("unprintable")
        return data.strip(" ")


class SessionNameSerializer(serializers.Serializer[Any]):
    """The body of ``PATCH sessions/<id>/``: the name, and nothing else."""

    name = SessionNameField()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and (unknown := sorted(set(data) - set(self.fields))):
            message = _("Unknown field: only name can be changed.")
            raise serializers.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


class StaffUserSessionSerializer(UserSessionSerializer):
    """A session as staff see it: adds the owner and the revoke audit trail."""

    user = serializers.SerializerMethodField()
    revoked_by = serializers.SerializerMethodField()

    class Meta(UserSessionSerializer.Meta):
        fields = [*UserSessionSerializer.Meta.fields, "user", "revoked_by"]
        read_only_fields = fields

    def get_user(self, obj: UserSession) -> dict[str, Any]:
        return {"id": obj.user_id, "username": obj.user.get_username()}

    def get_revoke_reason(self, obj: UserSession) -> str | None:
        """The code the row records, or the words staff gave; null while active."""
        return None if obj.is_active else obj.revoke_reason

    def get_revoke_reason_display(self, obj: UserSession) -> str | None:
        reason = obj.revoke_reason
        if not obj.is_active and reason and reason not in RevokeReason.values:
            return str(_("Ended by an administrator: %(reason)s")) % {"reason": reason}
        return obj.revoke_reason_display

    def get_revoked_by(self, obj: UserSession) -> dict[str, Any] | None:
        revoked_by = obj.revoked_by
        if revoked_by is None:
            return None
        return {"id": revoked_by.pk, "username": revoked_by.get_username()}
