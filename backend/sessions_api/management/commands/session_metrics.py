import json

from django.core.management.base import BaseCommand

from sessions_api.ops.figures import session_metrics_collect

LABELS = {
    "active": "active sessions",
    "created_last_hour": "created in the last hour",
    "created_last_day": "created in the last day",
    "duration_avg_seconds": "average duration of sessions ended in the last day (s)",
    "failed_auth_last_hour": "failed authentication attempts, last hour",
    "failed_auth_last_day": "failed authentication attempts, last day",
    "per_user_max": "live sessions per user, max",
    "per_user_p95": "live sessions per user, p95",
    "redis_keys": "session keys in Redis (live and tombstones)",
    "redis_memory_bytes": "Redis memory used by sessions (bytes)",
    "audit_session_rows": "audit rows: sessions",
    "audit_event_rows": "audit rows: events",
    "audit_bytes": "audit tables on disk (bytes)",
    "awaiting_cleanup": "sessions past their deadline awaiting cleanup",
    "hot_copy_stale": "sessions awaiting a hot-copy repair",
    "outbox_length": "revocation events awaiting the database",
    "webhook_pending": "webhook deliveries waiting",
    "webhook_failed": "webhook deliveries failed after 24 h",
    "webhook_oldest_pending_seconds": "oldest waiting webhook event, age (s)",
    "cleanup_last_run_timestamp": "last cleanup run (unix time)",
    "collected_at_timestamp": "collected at (unix time)",
}


class Command(BaseCommand):
    help = "Print the figures the metrics snapshot task records as Prometheus gauges."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, **options):
        figures = session_metrics_collect()
        if options["json"]:
            self.stdout.write(json.dumps(figures))
            return
        width = max(len(label) for label in LABELS.values())
        for name, value in figures.items():
            label = LABELS.get(name, name)
            self.stdout.write(f"{label:<{width}}  {'n/a' if value is None else value}")
