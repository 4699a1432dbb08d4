"""The markdown tables ``make bench`` prints: every row against the bare Django view and the
best peer, then each goal and whether this run met it."""

import statistics
from dataclasses import dataclass, field

from bench.load import Result

BARE = "bare Django `JsonResponse`"
DRF_BARE = "bare DRF `APIView`"
CACHE_GET = "DRF view + one django-redis `cache.get`"
CACHE_SESSIONS = "DRF view reading Django's cache sessions (django-redis)"
CACHE_SESSIONS_PLAIN = "plain Django view reading the same cache sessions"
DRF_TOKEN = "DRF view, DRF `TokenAuthentication`"
KNOX = "DRF view, django-rest-knox"
DRF_SESSIONS = "DRF view, `SessionAuthentication` on Django's cache sessions"
CURRENT = "**`GET /api/sessions/current/`**"
HOST_OURS = "**DRF view, our `SessionTokenAuthentication`**"
CREATE = "`POST /api/sessions/create/` (returning user)"

# Label -> settings module in bench/peers/, in the order of the table.
PEERS = {BARE: "django_bare", DRF_BARE: "drf_bare", CACHE_SESSIONS_PLAIN: "cache_sessions_plain",
         CACHE_GET: "drf_cache_get", CACHE_SESSIONS: "cache_sessions", DRF_TOKEN: "drf_token",
         KNOX: "knox_token", DRF_SESSIONS: "drf_cache_sessions"}
# The peers that check a credential: the APIs a user would build instead of the service. The
# bare views and the plain session read are references: they are not APIs (no DRF).
RIVALS = (CACHE_GET, CACHE_SESSIONS, DRF_TOKEN, KNOX, DRF_SESSIONS)
# The same host DRF view behind another authentication.
HOST_RIVALS = (DRF_TOKEN, KNOX, DRF_SESSIONS)
PROJECTS = {"peer": "peer (minimal project)", "reference": "reference (minimal project)",
            "service": "the service (`make serve`)", "host": "host (minimal project + the app)"}


@dataclass
class Row:
    server: object
    path: str
    method: str
    header: str
    values: list[str]
    project: str


@dataclass
class Measured:
    runs: dict[str, list[Result]]
    projects: dict[str, str] = field(default_factory=dict)
    jwks_fetches: int = 0
    audit_writes_per_1000: float = 0.0
    audit_rows_per_1000: float = 0.0
    instances: dict = field(default_factory=dict)
    light_p99: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    elapsed: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    cores: int = 0

    def rps(self, label: str) -> float:
        return statistics.median(r.rps for r in self.runs[label])

    def p99(self, label: str) -> float:
        return statistics.median(r.p99_ms for r in self.runs[label])

    def cpu(self, label: str) -> float:
        return statistics.median(r.web_cpu_us for r in self.runs[label])

    def redis_cpu(self, label: str) -> float:
        return statistics.median(r.redis_cpu_us for r in self.runs[label])

    def errors(self, label: str) -> int:
        return sum(r.errors for r in self.runs[label])

    def best(self, labels) -> str:
        """The fastest of ``labels`` by req/s."""
        return max(labels, key=self.rps)

    def leanest(self, labels) -> str:
        """The cheapest of ``labels`` by web CPU per request."""
        return min(labels, key=self.cpu)


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def table(m: Measured, *, seconds: float, rounds: int, workers: int, worker_class: str) -> str:
    bare, bare_cpu = m.rps(BARE), m.cpu(BARE)
    best, leanest = m.best(RIVALS), m.leanest(RIVALS)
    lines = [
        f"gunicorn {worker_class}, {workers} workers, every row on the same command line; "
        f"wrk -t1 -c16 -d{seconds:g}s; {rounds} interleaved rounds; medians",
        "",
        f"Load average when the run started: {m.load_before:.2f} on {m.cores} cores, "
        f"when the measurements ended: {m.load_after:.2f}"
        + (" (other processes were using the CPU: absolute figures and p99 are not "
           "representative; the ratios and CPU columns are less affected)"
           if m.load_before > 0.5 else ""),
        "",
        f"Best peer by req/s: {best}; by CPU: {leanest}.",
        "",
        "| endpoint | project | req/s | p99 ms | vs bare Django | vs best peer | "
        "web CPU us/req | best peer's CPU / this | Redis CPU us/req | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in m.runs:
        lines.append(
            f"| {label} | {PROJECTS[m.projects[label]]} | {m.rps(label):.0f} | "
            f"{m.p99(label):.2f} | {m.rps(label) / bare:.2f} | {m.rps(label) / m.rps(best):.2f} | "
            f"{m.cpu(label):.0f} | {m.cpu(leanest) / m.cpu(label):.2f} | "
            f"{m.redis_cpu(label):.0f} | {m.errors(label)} |")
    current_vs_best = m.rps(CURRENT) / m.rps(best)
    current_cpu_vs_best = m.cpu(leanest) / m.cpu(CURRENT)
    host_best, host_leanest = m.best(HOST_RIVALS), m.leanest(HOST_RIVALS)
    host_vs_best = m.rps(HOST_OURS) / m.rps(host_best)
    host_cpu_vs_best = m.cpu(host_leanest) / m.cpu(HOST_OURS)
    host_vs_open = m.rps(HOST_OURS) / m.rps(DRF_BARE)
    memory = m.memory
    two = m.instances
    lines += [
        "",
        "| goal | measured | |",
        "|---|---|---|",
        f"| `/current` >= 1.15x the best peer's req/s | {current_vs_best:.2f}x {best} "
        f"({m.rps(CURRENT):.0f} vs {m.rps(best):.0f} req/s) | {_met(current_vs_best >= 1.15)} |",
        f"| `/current` >= 1.15x the best peer by CPU per request | {current_cpu_vs_best:.2f}x "
        f"{leanest} ({m.cpu(CURRENT):.0f} vs {m.cpu(leanest):.0f} us) | "
        f"{_met(current_cpu_vs_best >= 1.15)} |",
        f"| `/current` toward 0.70 of bare Django | {m.rps(CURRENT) / bare:.2f} "
        f"({bare_cpu / m.cpu(CURRENT):.2f} by CPU) | {_met(m.rps(CURRENT) / bare >= 0.70)} |",
        f"| host DRF view with our class ahead of TokenAuthentication, knox, cache sessions | "
        f"{host_vs_best:.2f}x {host_best} ({host_cpu_vs_best:.2f}x {host_leanest} by CPU) | "
        f"{_met(host_vs_best > 1 and host_cpu_vs_best > 1)} |",
        f"| host DRF view with our class >= 0.85 of the same view without authentication | "
        f"{host_vs_open:.2f} ({m.cpu(DRF_BARE) / m.cpu(HOST_OURS):.2f} by CPU) | "
        f"{_met(host_vs_open >= 0.85)} |",
        f"| `/current` p99 < 5 ms below saturation (-c2: nothing queues; at -c16 the mean "
        f"latency is 16 / req/s by Little's law, {16000 / m.rps(CURRENT):.1f} ms here, "
        f"{16000 / bare:.1f} ms for the bare view) | {m.light_p99[CURRENT]:.2f} ms "
        f"(bare view {m.light_p99[BARE]:.2f} ms) | {_met(m.light_p99[CURRENT] < 5)} |",
        f"| create (returning user) >= 300/s | {m.rps(CREATE):.0f}/s | "
        f"{_met(m.rps(CREATE) >= 300)} |",
        f"| JWKS fetched once for the whole run | {m.jwks_fetches} fetch(es) | "
        f"{_met(m.jwks_fetches == 1)} |",
        f"| <= 1 KB Redis per session ({memory['sessions']} sessions) | "
        f"{memory['used_memory_per_session']:.0f} B used_memory "
        f"({memory['session_key_bytes']:.0f} B session value + "
        f"{memory['index_bytes_per_session']:.0f} B user index, by MEMORY USAGE), "
        "Redis's default settings | "
        f"{_met(memory['used_memory_per_session'] <= 1024)} |",
        f"| audit writes per 1000 `/current` | {m.audit_writes_per_1000:.2f} "
        f"(`pg_stat_user_tables`); rows written: {m.audit_rows_per_1000:.2f} | "
        f"{_met(m.audit_writes_per_1000 == 0 and m.audit_rows_per_1000 == 0)} |",
        f"| `/current`, two instances over one Redis vs one | {two['two']:.0f} vs "
        f"{two['one']:.0f} req/s ({two['two'] / two['one']:.2f}) | reported |",
        f"| whole run | {m.elapsed:.0f} s | |",
        "",
        "Failures here are measured and shown, never hidden: a `non-2xx` other than 0 means "
        "that row measured errors.",
    ]
    return "\n".join(lines)
