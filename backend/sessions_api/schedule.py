"""The beat schedule, a plain dict: the standalone project uses it as ``CELERY_BEAT_SCHEDULE``
and a host project merges it into its own (``CELERY_BEAT_SCHEDULE = {**mine, **BEAT_SCHEDULE}``).

Settings are not readable while a settings module is being imported, so each interval is
named here and read through ``session_settings`` whenever beat asks how long to wait.
"""

from datetime import timedelta

from celery.schedules import schedule


class SettingInterval(schedule):
    """Run every ``session_settings.<setting>`` seconds, read when beat computes the next run."""

    def __init__(self, setting: str, *args, **kwargs):
        self.setting = setting
        super().__init__(*args, **kwargs)

    @property
    def run_every(self) -> timedelta:
        from .conf import session_settings

        return timedelta(seconds=getattr(session_settings, self.setting))

    @run_every.setter
    def run_every(self, value) -> None:
        """The interval always comes from the setting."""

    def __reduce__(self):
        return self.__class__, (self.setting,)

    def __repr__(self) -> str:
        return f"<every {self.setting}>"


BEAT_SCHEDULE = {
    "sessions-cleanup": {
        "task": "sessions_api.cleanup_sessions",
        "schedule": SettingInterval("CLEANUP_INTERVAL"),
    },
    "sessions-activity-flush": {
        "task": "sessions_api.activity_flush",
        "schedule": SettingInterval("ACTIVITY_FLUSH_INTERVAL"),
    },
    "sessions-outbox-drain": {
        "task": "sessions_api.outbox_drain",
        "schedule": SettingInterval("OUTBOX_DRAIN_INTERVAL"),
    },
    "sessions-hot-copy-repair": {
        "task": "sessions_api.hot_copy_repair",
        "schedule": SettingInterval("REPAIR_INTERVAL"),
    },
    "sessions-metrics-snapshot": {
        "task": "sessions_api.metrics_snapshot",
        "schedule": SettingInterval("METRICS_INTERVAL"),
    },
    "sessions-webhooks-deliver": {
        "task": "sessions_api.webhooks_deliver",
        "schedule": SettingInterval("WEBHOOK_SWEEP_INTERVAL"),
    },
}
