import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from cases.handles import normalize_handle
from cases.models import (
    Account,
    Actor,
    Case,
    Membership,
    Platform,
    Post,
    Role,
    Team,
)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.MODERATOR


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    team = factory.SubFactory(TeamFactory)
    platform = Platform.X
    handle = factory.Sequence(lambda n: f"suspect{n:08d}")
    handle_normalized = factory.LazyAttribute(lambda o: normalize_handle(o.handle))
    display_name = factory.Faker("name")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    account = factory.SubFactory(AccountFactory)
    external_id = factory.Sequence(lambda n: str(1000 + n))
    text = factory.Faker("sentence")
    posted_at = factory.LazyFunction(timezone.now)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Network {n}")


class ActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actor

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Actor {n}")


def raw_update(model, pk: int, **values) -> None:
    """An UPDATE that goes around the ORM's guards, the way a careless script would."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(k)} = %s" for k in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*values.values(), pk])  # noqa: S608
