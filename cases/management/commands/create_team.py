from django.core.management.base import BaseCommand, CommandError

from cases.errors import CaseError
from cases.services.teams import create_team


class Command(BaseCommand):
    help = "Create a team: python manage.py create_team SLUG --name NAME"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, slug: str, name: str, **options):
        try:
            team = create_team(slug=slug, name=name)
        except CaseError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Created team {team.slug} ({team.name})."))
