import json

from django.core.management.base import BaseCommand

from sessions_api.conf import session_settings
from sessions_api.ops.cleanup import sessions_cleanup


class Command(BaseCommand):
    help = ("Record the expiry of sessions past their deadline, delete audit rows past the "
            "retention and prune Redis index leftovers. The beat task runs the same code.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what a real run would do; change nothing.")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="Rows per transaction (default SESSION_CLEANUP_BATCH_SIZE).")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="Print the counts as JSON.")

    def handle(self, *args, dry_run, batch_size, as_json, **options):
        size = batch_size or session_settings.CLEANUP_BATCH_SIZE
        counts = sessions_cleanup(dry_run=dry_run, batch_size=max(size, 1))
        if as_json:
            self.stdout.write(json.dumps(counts))
            return
        verb = "would be" if dry_run else "were"
        retention = counts["retention_days"] or "forever (0)"
        self.stdout.write(
            f"{counts['expired']} expired session(s) {verb} recorded\n"
            f"{counts['deleted_sessions']} session(s) and {counts['deleted_events']} event(s) "
            f"past the retention of {retention} days {verb} deleted\n"
            f"{counts['index_entries_pruned']} Redis index leftover(s) {verb} pruned"
        )
