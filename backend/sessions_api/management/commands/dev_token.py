from django.core.management.base import BaseCommand, CommandError

from sessions_api.conf import session_settings
from sessions_api.identity.dev import dev_token_mint


class Command(BaseCommand):
    help = "Print an access token from the dev identity provider (DJANGO_DEBUG=1, no AUTH0_DOMAIN)."

    def add_arguments(self, parser):
        parser.add_argument("--sub", required=True, help='subject, e.g. "dev|alice"')
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="")
        parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")

    def handle(self, *args, sub, email, name, ttl, **options):
        if not session_settings.dev_identity:
            raise CommandError("The dev identity provider exists only with DJANGO_DEBUG=1 and "
                               "no AUTH0_DOMAIN.")
        self.stdout.write(dev_token_mint(sub=sub, email=email, name=name, ttl=ttl))
