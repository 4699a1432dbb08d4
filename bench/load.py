"""wrk runs: every request carries one of a pool of credentials (an ``Authorization`` or a
``Cookie`` header), in turn, so each endpoint pays the same client and header-parsing cost; the
result is req/s and p99."""

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = """
local headers = %(headers)s
local name, method, body = "%(header)s", "%(method)s", nil
local i = 0
request = function()
  i = i %% #headers + 1
  return wrk.format(method, nil, {[name] = headers[i],
                                  ["Content-Type"] = "application/json"}, body)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    rps: float
    p99_ms: float
    requests: int
    errors: int
    web_cpu_us: float = 0.0
    redis_cpu_us: float = 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("make bench needs wrk: apt-get install -y wrk (Debian/Ubuntu) "
                         "or brew install wrk (macOS)")
    return found


def wrk(url: str, *, headers: list[str], header: str = "Authorization", method: str = "GET",
        seconds: float = 10, connections: int = 16, threads: int = 1) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        lua_headers = "{" + ",".join(json.dumps(h) for h in headers) + "}"
        script.write(_SCRIPT % {"headers": lua_headers, "header": header, "method": method})
    try:
        output = subprocess.run(
            [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--latency", "-s", script.name, url],
            capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    finally:
        Path(script.name).unlink()
    return parse(output)


def parse(output: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(rps, float(value) * _UNITS[unit], requests, errors)
