"""The markdown table ``make bench`` prints, with each goal and whether this run met it."""

import statistics
from dataclasses import dataclass, field

from bench.load import Result

BARE = "bare Django `JsonResponse`"
CURRENT = "`GET /api/sessions/current/`"
HOST_OPEN = "host DRF view, no authentication"
HOST_AUTH = "host DRF view, `SessionTokenAuthentication`"
CREATE = "`POST /api/sessions/create/` (returning user)"


@dataclass
class Measured:
    runs: dict[str, list[Result]]
    jwks_fetches: int = 0
    audit_writes_per_1000: float = 0.0
    audit_rows_per_1000: float = 0.0
    instances: dict = field(default_factory=dict)
    light_p99: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    elapsed: float = 0.0
    load_before: float = 0.0
    cores: int = 0

    def rps(self, label: str) -> float:
        return statistics.median(r.rps for r in self.runs[label])

    def p99(self, label: str) -> float:
        return statistics.median(r.p99_ms for r in self.runs[label])

    def cpu(self, label: str) -> tuple[float, float]:
        runs = self.runs[label]
        return (statistics.median(r.web_cpu_us for r in runs),
                statistics.median(r.redis_cpu_us for r in runs))

    def errors(self, label: str) -> int:
        return sum(r.errors for r in self.runs[label])


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def table(m: Measured, *, seconds: float, rounds: int, workers: int, worker_class: str,
          threads: int) -> str:
    bare = m.rps(BARE)
    lines = [
        f"gunicorn {worker_class}, {workers} workers"
        + (f" x {threads} threads" if threads > 1 else "")
        + f"; wrk -t1 -c16 -d{seconds:g}s; {rounds} interleaved rounds; medians",
        "",
        f"Load average when the run started: {m.load_before:.2f} on {m.cores} cores"
        + (" (other processes were using the CPU: absolute figures and p99 are not "
           "representative; the CPU columns are)" if m.load_before > 0.5 else ""),
        "",
        "| endpoint | req/s | p99 ms | vs bare Django | web CPU us/req | vs bare Django, "
        "by CPU | Redis CPU us/req | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bare_cpu = m.cpu(BARE)[0]
    for label in m.runs:
        web_cpu, redis_cpu = m.cpu(label)
        lines.append(f"| {label} | {m.rps(label):.0f} | {m.p99(label):.2f} | "
                     f"{m.rps(label) / bare:.2f} | {web_cpu:.0f} | {bare_cpu / web_cpu:.2f} | "
                     f"{redis_cpu:.0f} | {m.errors(label)} |")
    current_ratio = m.rps(CURRENT) / bare
    host_ratio = m.rps(HOST_AUTH) / m.rps(HOST_OPEN)
    current_cpu_ratio = bare_cpu / m.cpu(CURRENT)[0]
    host_cpu_ratio = m.cpu(HOST_OPEN)[0] / m.cpu(HOST_AUTH)[0]
    memory = m.memory
    two = m.instances
    lines += [
        "",
        "| goal | measured | |",
        "|---|---|---|",
        f"| `/current` >= 0.70 of bare Django, p99 < 5 ms | {current_ratio:.2f} "
        f"({current_cpu_ratio:.2f} by CPU), p99 {m.p99(CURRENT):.2f} ms | "
        f"{_met(current_ratio >= 0.70 and m.p99(CURRENT) < 5)} |",
        f"| `/current` p99 < 5 ms below saturation (-c2: nothing queues; at -c16 the mean "
        f"latency is 16 / req/s by Little's law, {16000 / m.rps(CURRENT):.1f} ms here, "
        f"{16000 / bare:.1f} ms for the bare view) | {m.light_p99[CURRENT]:.2f} ms "
        f"(bare view {m.light_p99[BARE]:.2f} ms) | {_met(m.light_p99[CURRENT] < 5)} |",
        f"| host view with our authentication >= 0.85 of no authentication | {host_ratio:.2f} "
        f"({host_cpu_ratio:.2f} by CPU) | {_met(host_ratio >= 0.85)} |",
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
