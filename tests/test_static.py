"""Static files (issue 16): pages link them under fingerprinted addresses, kept a year by browsers; they travel
gzip-compressed; a stale or made-up fingerprint answers 404; the plain address still answers, kept a short while."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from convergence.core.web import LONG_CACHE, SHORT_CACHE, StaticAssets

ROOT = Path(__file__).resolve().parents[1]


def fingerprint(name: str) -> str:
    return hashlib.sha256((ROOT / "static" / name).read_bytes()).hexdigest()[:16]


async def test_pages_link_fingerprinted_assets(client):
    page = await client.get("/login")
    assert page.status_code == 200
    assert f'href="/static/css/app.css?v={fingerprint("css/app.css")}"' in page.text
    assert not re.search(r'href="/static/[^"?]+"', page.text)  # no stylesheet under its plain address


async def test_a_fingerprinted_file_is_compressed_and_kept_a_year(client):
    url = f"/static/css/app.css?v={fingerprint('css/app.css')}"
    gzipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200
    assert gzipped.headers["content-encoding"] == "gzip" and "accept-encoding" in gzipped.headers["vary"].lower()
    assert gzipped.headers["cache-control"] == LONG_CACHE == "public, max-age=31536000, immutable"
    original = (ROOT / "static/css/app.css").read_bytes()
    assert gzipped.content == original and gzipped.num_bytes_downloaded < len(original) / 2
    assert gzipped.headers["content-type"].startswith("text/css")
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == original
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""


async def test_an_unknown_fingerprint_answers_404(client):
    for url in ("/static/css/app.css?v=0123456789abcdef",  # a made-up or stale digest
                f"/static/css/app.css?v={fingerprint('js/workspace.js')}",  # another file's
                "/static/css/app.css?v=",
                f"/static/nowhere.css?v={fingerprint('css/app.css')}"):
        answer = await client.get(url)
        assert answer.status_code == 404, url
        assert "immutable" not in answer.headers.get("cache-control", "")


async def test_plain_addresses_still_answer_with_a_short_lifetime(client):
    css = await client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers["cache-control"] == SHORT_CACHE == "public, max-age=300"
    assert css.headers["content-encoding"] == "gzip"
    # Vendored files name their version in their address: a year.
    htmx = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js")
    assert htmx.status_code == 200 and htmx.headers["cache-control"] == LONG_CACHE


async def test_pages_themselves_are_not_compressed(client):
    # A page carries the CSRF token: its compressed size must not be observable (BREACH).
    page = await client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "content-encoding" not in page.headers
    api = await client.get("/api/v1/nowhere", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in api.headers


# ------------------------------------------------------------------------------------------------ unit

def test_a_changed_file_changes_its_fingerprint(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css/app.css").write_text("body { color: black }")
    before = StaticAssets(tmp_path)
    url = before.url("css/app.css")
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{16}", url)
    (tmp_path / "css/app.css").write_text("body { color: navy }")
    after = StaticAssets(tmp_path)  # a new process
    assert after.url("css/app.css") != url
    # Read once per process: a running server keeps the digest it computed.
    assert before.url("css/app.css") == url and before.digest("css/app.css") == url.rsplit("=", 1)[1]


def test_fingerprints_only_name_files_inside_the_directory(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("not served")
    assets = StaticAssets(tmp_path / "static")
    assert assets.digest("../secret.txt") is None and assets.digest("") is None
    with pytest.raises(LookupError):
        assets.url("css/missing.css")  # a template naming a file that does not exist fails loudly


async def test_pages_name_their_icon(client):
    """Browsers ask for an icon on every first visit: the page names one, so there is no /favicon.ico 404."""
    page = await client.get("/login")
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page.text).group(1)
    icon = await client.get(href)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
