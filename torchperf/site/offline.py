"""Serve the JavaScript/CSS that asv's site loads from public CDNs from the site itself.

asv 0.6's ``index.html`` loads jQuery 3.3.1, flot 0.8.3 (+ time, selection,
categories), flot-orderbars 1.0.0, stupidtable 1.0.1, blueimp-md5 2.19.0 and
Bootstrap 3.1.1 (JS and CSS) from code.jquery.com, cdnjs and jsDelivr; with no
internet the page redirects to asv's error page. :func:`vendor_asv_assets`
takes the same releases from the **npm registry** (never from files copied
into this repository):

1. the registry's metadata of each ``package@version`` gives the tarball URL
   and its ``dist.integrity`` (sha512), which must also equal the value
   pinned in :data:`NPM_PACKAGES` (so a changed upstream tarball is refused);
2. the tarball is downloaded once into the user cache
   (``$TORCHPERF_CACHE_DIR/npm``, default ``~/.cache/torchperf/npm``) and
   verified again against the pinned sha512 every time it is used;
3. the needed files are copied to ``<html_dir>/vendor/<package>-<version>/``
   and the ``<script>`` / ``<link>`` tags of ``index.html`` are rewritten to
   them, with a recomputed ``integrity`` (sha384 of the local file).

Substitutions (not the exact CDN files):

* flot 0.8.3 on npm ships only the unminified sources
  (``jquery.flot.js`` ...); they are used instead of cdnjs's ``.min.js``.
* stupidtable 1.0.1 is not on npm (the package ``stupid-table-plugin`` has only
  1.1.3, the same plugin by the same author, a backwards-compatible minor
  release with the ``stupidtable()`` / ``stupidsort()`` API asv calls); 1.1.3 is used.

jQuery 3.3.1, flot-orderbars 1.0.0, blueimp-md5 2.19.0 and Bootstrap 3.1.1
are byte-identical to the CDN files (their sha256/sha512 equal the
``integrity`` attributes in asv's ``index.html``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from torchperf.errors import MissingDependencyError, ResultsFileError
from torchperf.fileio import atomic_write_bytes, atomic_write_text

__all__ = [
    "ASSETS",
    "NPM_PACKAGES",
    "Asset",
    "cache_dir",
    "fetch_package",
    "vendor_asv_assets",
]

#: ``(npm name, version) -> dist.integrity`` as published by registry.npmjs.org.
NPM_PACKAGES: Mapping[tuple[str, str], str] = {
    ("jquery", "3.3.1"): "sha512-Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg==",
    ("flot", "0.8.3"): "sha512-xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdttbRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ==",
    ("flot-orderbars", "1.0.0"): "sha512-Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0WHjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA==",
    ("stupid-table-plugin", "1.1.3"): "sha512-2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoLMsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg==",
    ("blueimp-md5", "2.19.0"): "sha512-DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w==",
    ("bootstrap", "3.1.1"): "sha512-TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg==",
}


@dataclass(frozen=True)
class Asset:
    """One CDN file of asv's ``index.html`` and where it comes from on npm.

    Attributes
    ----------
    url : str
        The exact ``src`` / ``href`` in asv's ``index.html``.
    package, version : str
        npm package providing it.
    member : str
        Path inside the tarball (without the leading ``package/``).
    extra : tuple of str
        Further members copied next to it (e.g. Bootstrap's fonts, which its CSS loads).

    """

    url: str
    package: str
    version: str
    member: str
    extra: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """Path of the file under ``html_dir`` (``vendor/<package>-<version>/<member>``)."""
        return f"vendor/{self.package}-{self.version}/{self.member}"


_BOOTSTRAP_FONTS = tuple(
    f"dist/fonts/glyphicons-halflings-regular.{ext}" for ext in ("eot", "svg", "ttf", "woff")
)

#: The CDN files of asv 0.6's ``index.html`` and their npm sources.
ASSETS: tuple[Asset, ...] = (
    Asset("https://code.jquery.com/jquery-3.3.1.min.js", "jquery", "3.3.1", "dist/jquery.min.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js", "flot", "0.8.3", "jquery.flot.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js", "flot", "0.8.3", "jquery.flot.time.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js", "flot", "0.8.3", "jquery.flot.selection.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js", "flot", "0.8.3", "jquery.flot.categories.js"),
    Asset("https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js", "flot-orderbars", "1.0.0", "js/jquery.flot.orderBars.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js", "stupid-table-plugin", "1.1.3", "stupidtable.min.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js", "blueimp-md5", "2.19.0", "js/md5.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js", "bootstrap", "3.1.1", "dist/js/bootstrap.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css", "bootstrap", "3.1.1", "dist/css/bootstrap.min.css", _BOOTSTRAP_FONTS),
)

DEFAULT_REGISTRY = "https://registry.npmjs.org"


def cache_dir() -> Path:
    """Folder of the cached npm tarballs: ``$TORCHPERF_CACHE_DIR/npm`` or ``~/.cache/torchperf/npm``.

    ``$XDG_CACHE_HOME`` is honoured when ``$TORCHPERF_CACHE_DIR`` is not set.
    """
    env = os.environ.get("TORCHPERF_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "npm"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "torchperf" / "npm"


def _integrity_ok(data: bytes, integrity: str) -> bool:
    algo, _, b64 = integrity.partition("-")
    if algo not in ("sha512", "sha384", "sha256"):
        return False
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == b64


def _get(url: str, timeout_s: float) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": "application/json, application/octet-stream"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        return resp.read()


def fetch_package(
    name: str,
    version: str,
    *,
    registry: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    timeout_s: float = 60.0,
) -> bytes:
    """Return the verified npm tarball of ``name@version``, from the cache or the registry.

    Parameters
    ----------
    name, version : str
        A package pinned in :data:`NPM_PACKAGES`.
    registry : str, optional
        Registry base URL; default ``$TORCHPERF_NPM_REGISTRY`` or https://registry.npmjs.org.
    cache : path-like, optional
        Cache folder; default :func:`cache_dir`.
    timeout_s : float
        Network timeout per request.

    Returns
    -------
    bytes
        The ``.tgz`` whose sha512 equals the pinned ``dist.integrity``.

    Raises
    ------
    MissingDependencyError
        Not cached and the registry is unreachable, or the registry's
        metadata / tarball does not match the pinned integrity.

    """
    key = (name, version)
    if key not in NPM_PACKAGES:
        raise MissingDependencyError(
            f"npm package {name}@{version} is not one torchperf vendors; known: "
            f"{', '.join(f'{n}@{v}' for n, v in NPM_PACKAGES)}."
        )
    pinned = NPM_PACKAGES[key]
    folder = Path(cache) if cache is not None else cache_dir()
    path = folder / f"{name}-{version}.tgz"
    if path.is_file():
        data = path.read_bytes()
        if _integrity_ok(data, pinned):
            return data
        path.unlink()  # corrupt or tampered cache entry: fetch again
    base = (registry or os.environ.get("TORCHPERF_NPM_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")
    try:
        meta = json.loads(_get(f"{base}/{name}/{version}", timeout_s))
        dist = meta["dist"]
        integrity, tarball = str(dist["integrity"]), str(dist["tarball"])
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        raise MissingDependencyError(
            f"cannot fetch {name}@{version} from the npm registry {base} ({exc}); connect to the "
            f"internet once (or set TORCHPERF_NPM_REGISTRY to a mirror) so it is cached in {folder}, "
            "or publish with offline=False."
        ) from None
    if integrity != pinned:
        raise MissingDependencyError(
            f"the npm registry reports integrity {integrity} for {name}@{version}, but torchperf pins "
            f"{pinned}; refusing to use it. Check your registry mirror."
        )
    try:
        data = _get(tarball, timeout_s)
    except (urllib.error.URLError, OSError) as exc:
        raise MissingDependencyError(f"cannot download {tarball}: {exc}.") from None
    if not _integrity_ok(data, pinned):
        raise MissingDependencyError(
            f"{tarball} does not match its sha512 integrity {pinned}; the download is corrupt or was altered."
        )
    atomic_write_bytes(path, data)
    return data


def _member(tar_bytes: bytes, member: str, package: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:gz") as tf:
        try:
            info = tf.getmember(f"package/{member}")
        except KeyError:
            raise MissingDependencyError(f"npm package {package} has no file {member}.") from None
        fh = tf.extractfile(info)
        if fh is None:
            raise MissingDependencyError(f"{member} in npm package {package} is not a regular file.")
        return fh.read()


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


_TAG = re.compile(r"<(script|link)\b[^>]*>", re.I | re.S)
_ATTR_URL = re.compile(r'\b(src|href)="(https?://[^"]+)"', re.I)


def vendor_asv_assets(
    html_dir: str | os.PathLike[str],
    *,
    registry: str | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Copy asv's CDN dependencies into ``<html_dir>/vendor/`` and point ``index.html`` at them.

    Idempotent: a second call finds no CDN URL left and only re-checks the files.

    Parameters
    ----------
    html_dir : path-like
        A site written by ``asv publish``.
    registry, cache
        See :func:`fetch_package`.

    Returns
    -------
    list of pathlib.Path
        The vendored files.

    Raises
    ------
    ResultsFileError
        ``index.html`` is missing.
    MissingDependencyError
        A package cannot be obtained, or ``index.html`` loads a CDN file that
        torchperf does not know (a newer asv): the site would not work offline.

    """
    root = Path(html_dir)
    index = root / "index.html"
    try:
        text = index.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsFileError(f"cannot read {index}: {exc.strerror or exc}; run `asv publish` first.") from None
    by_url = {a.url: a for a in ASSETS}
    tarballs: dict[tuple[str, str], bytes] = {}
    written: dict[str, bytes] = {}

    def local(asset: Asset) -> bytes:
        key = (asset.package, asset.version)
        if key not in tarballs:
            tarballs[key] = fetch_package(asset.package, asset.version, registry=registry, cache=cache)
        for member in (asset.member, *asset.extra):
            dest = f"vendor/{asset.package}-{asset.version}/{member}"
            if dest not in written:
                data = _member(tarballs[key], member, asset.package)
                atomic_write_bytes(root / dest, data)
                written[dest] = data
        return written[asset.dest]

    unknown: list[str] = []

    def rewrite(m: re.Match[str]) -> str:
        tag = m.group(0)
        um = _ATTR_URL.search(tag)
        if um is None:
            return tag
        if tag.lower().startswith("<link") and not re.search(r'rel="stylesheet"', tag, re.I):
            return tag  # navigation links (e.g. to asv's GitHub) are not resources
        url = um.group(2)
        asset = by_url.get(url)
        if asset is None:
            unknown.append(url)
            return tag
        data = local(asset)
        new = tag[: um.start(2)] + asset.dest + tag[um.end(2) :]
        new = re.sub(r'\s+integrity="[^"]*"', f' integrity="{_sri(data)}"', new, flags=re.I)
        return new

    new_text = _TAG.sub(rewrite, text)
    if unknown:
        raise MissingDependencyError(
            "asv's index.html loads files from the internet that torchperf's offline mode does not "
            f"know: {unknown}. Update torchperf.site.offline.ASSETS for this asv version, or "
            "publish with offline=False."
        )
    # already vendored (second run): make sure the files are still there
    for asset in ASSETS:
        if asset.dest in new_text and not (root / asset.dest).is_file():
            local(asset)
    if new_text != text:
        atomic_write_text(index, new_text)
    return sorted(root / d for d in written)
