"""Serializer fields that take exactly what the schema says.

DRF coerces generously (``"12"`` for an integer, ``1`` for a boolean, ``5`` for a string). The
API's JSON bodies are typed, so a client that sends the wrong type hears about it with a 400
instead of having it guessed. Multipart bodies (evidence uploads) carry every value as text,
so there the usual coercion of text applies.
"""

from django.contrib.auth import get_user_model
from django.http import QueryDict
from rest_framework import serializers

from cases.models import Team, Technique
from cases.selectors import list_teams_for_user

# BigAutoField's range: larger ids cannot exist, and would overflow the database's integer.
MAX_ID = 2**63 - 1
MAX_BIGINT = 2**63 - 1


def _from_form(field: serializers.Field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    def run_validation(self, data=serializers.empty):
        # The schema's maxLength is a bound on what is sent: count before whitespace is trimmed
        # (DRF trims first, so " " plus max_length characters would otherwise pass).
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or (not isinstance(data, int) and not _from_form(self)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or (not isinstance(data, (int, float)) and not _from_form(self)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool) and not _from_form(self):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerChoiceField(serializers.ChoiceField):
    """A choice among integers (priorities), given as a JSON integer."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (not isinstance(data, int) and not _from_form(self)):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class TeamScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """The id of an object in one of the requesting user's teams.

    Another team's id gets the same "does not exist" as an id that was never used, so a request
    body can neither reach nor probe another team's rows. ``team_path`` is the lookup from the
    model to its team (``"team"``, ``"account__team"``; ``""`` for Team itself).
    """

    def __init__(self, *, team_path: str = "team", **kwargs):
        self.team_path = team_path
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        teams = list_teams_for_user(user) if user is not None else Team.objects.none()
        return queryset.filter(**{f"{self.team_path}__in" if self.team_path else "pk__in": teams})

    def to_internal_value(self, data):
        if isinstance(data, bool) or (not isinstance(data, int) and not _from_form(self)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, int) and not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class TeammatePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """The id of a user who shares a team with the requesting user."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        teams = list_teams_for_user(user) if user is not None else Team.objects.none()
        return super().get_queryset().filter(memberships__team__in=teams).distinct()

    def to_internal_value(self, data):
        if isinstance(data, bool) or (not isinstance(data, int) and not _from_form(self)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class TechniqueCodeField(serializers.SlugRelatedField):
    """A kill-chain technique by its procedure code (``1.1.1``).

    Anything but a short string is refused before the database is asked: a NUL character in a
    lookup is an error in PostgreSQL (a 500, not a "does not exist"), and no code is longer than
    the column.
    """

    MAX_LENGTH = Technique._meta.get_field("procedure_code").max_length

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "procedure_code")
        kwargs.setdefault("queryset", Technique.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data or len(data) > self.MAX_LENGTH:
            self.fail("invalid")
        return super().to_internal_value(data)
