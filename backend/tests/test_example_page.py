"""The example SPA at ``/`` (``config/example_page.py``): served with DEBUG only, and never
older than its sources (the build embeds a hash of them, recomputed here as
``frontend-contract/scripts/source-hash.mjs`` computes it; declaration files are left out)."""

import hashlib
import re
from pathlib import Path

from config.example_page import DIST_DIR

FRONTEND_DIR = DIST_DIR.parents[1]
INPUTS = ("src", "example", "package-lock.json")


def source_hash(read=Path.read_bytes) -> str:
    paths = []
    for name in INPUTS:
        top = FRONTEND_DIR / name
        found = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        paths += [p.relative_to(FRONTEND_DIR).as_posix() for p in found
                  if DIST_DIR not in p.parents and not p.name.endswith(".d.ts")]
    digest = hashlib.sha256()
    for rel in sorted(paths):
        content = hashlib.sha256(read(FRONTEND_DIR / rel)).hexdigest()
        digest.update(f"{rel}\0{content}\n".encode())
    return digest.hexdigest()


def built_index() -> str:
    return (DIST_DIR / "index.html").read_text()


def test_the_committed_build_is_as_new_as_its_sources():
    embedded = re.search(r'<meta name="source-hash" content="([0-9a-f]{64})"', built_index())
    assert embedded, "example/dist/index.html carries no source hash: rebuild it"
    assert embedded.group(1) == source_hash(), (
        "frontend-contract/example/dist is older than its sources: run "
        "`npm run example:build` in frontend-contract/ and commit example/dist")


def test_the_hash_moves_when_a_source_changes():
    edited = FRONTEND_DIR / "src" / "client.ts"

    def read(path: Path) -> bytes:
        return path.read_bytes() + (b"\n" if path == edited else b"")

    assert source_hash(read) != source_hash()


def test_serves_the_page_and_its_assets_with_debug(client, settings):
    settings.DEBUG = True
    page = client.get("/")
    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    body = b"".join(page.streaming_content).decode()
    assert '<div id="root">' in body
    script = re.search(r'src="/assets/([^"]+\.js)"', body)
    assert script, body

    asset = client.get(f"/assets/{script.group(1)}")
    assert asset.status_code == 200
    assert asset["Content-Type"].startswith("text/javascript")
    assert "immutable" in asset["Cache-Control"]


def test_nothing_without_debug(client, settings):
    settings.DEBUG = False
    assert client.get("/").status_code == 404
    script = re.search(r'src="/assets/([^"]+\.js)"', built_index()).group(1)
    assert client.get(f"/assets/{script}").status_code == 404


def test_no_way_out_of_the_build_directory(client, settings):
    settings.DEBUG = True
    assert client.get("/assets/..%2F..%2Fpackage.json").status_code == 404
    assert client.get("/assets/missing-file.js").status_code == 404
