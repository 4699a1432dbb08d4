"""`make env`: writes .env from .env.example, each `change-me` placeholder replaced by a fresh
secret (64 URL-safe characters from `secrets`). An existing .env is never overwritten."""

import re
import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>change-me\S*)\s*$")


def with_fresh_secrets(example: str) -> tuple[str, list[str]]:
    lines, names = [], []
    for line in example.splitlines():
        match = PLACEHOLDER.match(line)
        if match:
            names.append(match["name"])
            line = f"{match['name']}={secrets.token_urlsafe(48)}"
        lines.append(line)
    return "\n".join(lines) + "\n", names


def main(target: Path = REPO / ".env") -> int:
    if target.exists():
        print(f"{target.name} exists already; left as it is (delete it to make a new one).")
        return 0
    text, names = with_fresh_secrets((REPO / ".env.example").read_text())
    target.touch(mode=0o600)
    target.write_text(text)
    print(f"Wrote {target.name} with fresh values for {', '.join(names)}. Fill in AUTH0_DOMAIN, "
          "AUTH0_AUDIENCE and DJANGO_ALLOWED_HOSTS before a real deployment.")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".env"))
