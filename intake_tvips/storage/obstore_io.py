"""S3 byte ranges through obstore (Rust ``object_store``), where it is installed.

s3fs hands every body through botocore and aiohttp in Python, on one event loop; obstore
fetches in Rust threads without the GIL and hands back a buffer that numpy views without a
copy. So S3 reads go through obstore when it is installed (``pip install
'intake-tvips[s3]'``) and when the storage options mean the same thing to it (see
:func:`obstore_settings`); anything it would not understand the same way (a ``session``,
``s3_additional_kwargs``, an unknown key, no credentials botocore can find, no region) keeps
the s3fs path. ``INTAKE_TVIPS_OBSTORE=0`` in the environment turns it off (workers inherit
the environment of the process that starts them).

Storage options keep their s3fs meaning: ``key``/``secret``/``token``, ``anon``,
``profile`` (credentials as botocore finds them: environment, ``~/.aws`` files, instance
metadata, ...), ``endpoint_url`` (top level or in ``client_kwargs``), ``region_name`` in
``client_kwargs``, ``config_kwargs`` ``retries.max_attempts`` and timeouts.

Like the s3fs path, a store is created once per process and bucket and shared by its
threads (at most :data:`MAX_STORES` are kept, the least recently used dropped; a forked
child makes its own); nothing of it enters a dask graph (tasks carry
:class:`FileSystemSpec`). Requests run concurrently on fsspec's event loop, at most
:data:`MAX_IN_FLIGHT` at a time, and each result is handed to the caller as soon as it
arrives. obstore retries 5xx answers,
connection errors and timeouts itself (``RetryConfig``: :data:`DEFAULT_ATTEMPTS` attempts,
doubling pauses from ``REMOTE_BACKOFF_SECONDS``, none later than
``REMOTE_RETRY_BUDGET_SECONDS`` after the first).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from intake_tvips.errors import is_transient
from intake_tvips.storage.filesystem import (
    REMOTE_BACKOFF_SECONDS,
    REMOTE_RETRY_BUDGET_SECONDS,
    S3_PROTOCOLS,
    FileSystemSpec,
)
from intake_tvips.storage.secrets import mask_url

#: environment variable: "0" (or "false", "no", "off") keeps S3 reads on s3fs
ENV_SWITCH = "INTAKE_TVIPS_OBSTORE"
#: most requests in flight at once, per process
MAX_IN_FLIGHT = 64
#: attempts per request (obstore's retries + 1) unless ``config_kwargs.retries`` says
DEFAULT_ATTEMPTS = 5
#: storage options that change nothing for reads (listing caches, block sizes, pools, ...)
_IRRELEVANT = frozenset(
    {
        "default_block_size",
        "default_fill_cache",
        "default_cache_type",
        "use_listings_cache",
        "listings_expiry_time",
        "max_paths",
        "skip_instance_cache",
        "max_concurrency",
        "fixed_upload_size",
        "cache_regions",
        "version_aware",
        "use_ssl",
    }
)
_CLIENT_KWARGS = frozenset(
    {"endpoint_url", "region_name", "verify", "aws_access_key_id", "aws_secret_access_key",
     "aws_session_token"}
)  # fmt: skip
_CONFIG_KWARGS = frozenset(
    {"max_pool_connections", "retries", "connect_timeout", "read_timeout", "signature_version"}
)

#: ``S3Store`` keyword arguments; the other settings go into its ``config``
_STORE_ARGS = frozenset({"client_options", "retry_config", "credential_provider"})
#: most stores (and settings) a process keeps, by storage options and bucket; the least
#: recently used is dropped first
MAX_STORES = 32


class _ProcessClients:
    """What one process keeps of obstore: the settings of each set of storage options
    (``None``: not usable), a store per (storage options, bucket), both bounded by
    :data:`MAX_STORES`, and the semaphore bounding requests on fsspec's event loop.
    A forked child starts afresh (see :func:`_clients`)."""

    def __init__(self):
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.settings: OrderedDict = OrderedDict()  # spec token -> settings or None
        self.stores: OrderedDict = OrderedDict()  # (spec token, bucket) -> S3Store
        self.loop_semaphore: tuple | None = None  # (event loop, asyncio.Semaphore)

    def settings_of(self, fs_spec: FileSystemSpec) -> dict | None:
        token = fs_spec.__dask_tokenize__()
        with self.lock:
            if token not in self.settings:
                self.settings[token] = obstore_settings(fs_spec.storage_options)
            self.settings.move_to_end(token)
            _bound(self.settings)
            return self.settings[token]

    def store(self, fs_spec: FileSystemSpec, bucket: str):
        """The ``S3Store`` for ``bucket`` (created on first use; usable settings only)."""
        key = (fs_spec.__dask_tokenize__(), bucket)
        with self.lock:
            store = self.stores.get(key)
            if store is not None:
                self.stores.move_to_end(key)
                return store
        store = _new_store(self.settings_of(fs_spec), bucket)
        with self.lock:
            store = self.stores.setdefault(key, store)
            _bound(self.stores)
        return store

    def semaphore(self, loop) -> asyncio.Semaphore:
        """At most :data:`MAX_IN_FLIGHT` requests at once on ``loop`` (fsspec's)."""
        pair = self.loop_semaphore
        if pair is None or pair[0] is not loop:
            with self.lock:
                pair = self.loop_semaphore
                if pair is None or pair[0] is not loop:
                    pair = self.loop_semaphore = (loop, asyncio.Semaphore(MAX_IN_FLIGHT))
        return pair[1]


def _bound(cache: OrderedDict) -> None:
    while len(cache) > MAX_STORES:
        cache.popitem(last=False)


_process: _ProcessClients | None = None


def _clients() -> _ProcessClients:
    """This process's obstore clients (a forked child's own: a parent's stores and
    semaphore belong to threads and a loop that are not in the child)."""
    global _process
    current = _process
    if current is None or current.pid != os.getpid():
        current = _process = _ProcessClients()
    return current


def enabled() -> bool:
    """Whether obstore is installed and not switched off by ``INTAKE_TVIPS_OBSTORE``."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        import obstore  # noqa: F401
    except ImportError:
        return False
    return True


def usable(fs_spec: FileSystemSpec) -> bool:
    """Whether reads of ``fs_spec`` go through obstore (else: through fsspec)."""
    if fs_spec.protocol not in S3_PROTOCOLS or not enabled():
        return False
    return _clients().settings_of(fs_spec) is not None


def obstore_settings(options: dict) -> dict | None:
    """``S3Store`` keyword arguments (all but the bucket) meaning what ``options`` mean to
    s3fs, or ``None`` when some option has no obstore equivalent."""
    client = dict(options.get("client_kwargs") or {})
    config = dict(options.get("config_kwargs") or {})
    known = _IRRELEVANT | {"key", "secret", "token", "anon", "profile", "endpoint_url",
                           "requester_pays", "client_kwargs", "config_kwargs"}  # fmt: skip
    if set(options) - known or set(client) - _CLIENT_KWARGS or set(config) - _CONFIG_KWARGS:
        return None
    if config.get("signature_version") not in (None, "s3v4"):
        return None  # UNSIGNED: pass anon=True instead
    if client.get("verify") not in (None, True, False):
        return None  # a CA bundle: obstore takes the system's
    endpoint = (
        client.get("endpoint_url")
        or options.get("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    s3 = {"virtual_hosted_style_request": False}
    if endpoint:
        s3["endpoint"] = endpoint
    region = client.get("region_name") or _botocore_region(options.get("profile"))
    if region is None and endpoint is None:
        return None  # s3fs finds the bucket's region on AWS; obstore would not
    s3["region"] = region or "us-east-1"
    if options.get("requester_pays"):
        s3["request_payer"] = True
    out = {"config": s3, "client_options": _client_options(endpoint, client, config)}
    out["retry_config"] = _retry_config(config)
    creds = _credentials(options, client)
    if creds is None:
        return None
    out.update(creds)
    return out


def _client_options(endpoint, client: dict, config: dict) -> dict:
    opts = {"allow_http": bool(endpoint and endpoint.startswith("http://")), "http1_only": True}
    if client.get("verify") is False:
        opts["allow_invalid_certificates"] = True
    if config.get("connect_timeout") is not None:
        opts["connect_timeout"] = timedelta(seconds=float(config["connect_timeout"]))
    if config.get("read_timeout") is not None:
        opts["timeout"] = timedelta(seconds=float(config["read_timeout"]))
    return opts


def _retry_config(config: dict) -> dict:
    """botocore's ``retries`` (``total_max_attempts``: first try included; ``max_attempts``:
    retries only, as botocore counts them) as obstore's retries, with pauses and a total
    time bounded like the fsspec path's."""
    retries = config.get("retries") or {}
    if "total_max_attempts" in retries:
        n = int(retries["total_max_attempts"]) - 1
    else:
        n = int(retries.get("max_attempts", DEFAULT_ATTEMPTS - 1))
    return {
        "max_retries": max(0, n),
        "backoff": {
            "init_backoff": timedelta(seconds=REMOTE_BACKOFF_SECONDS),
            "max_backoff": timedelta(seconds=REMOTE_RETRY_BUDGET_SECONDS / 2),
            "base": 2,
        },
        "retry_timeout": timedelta(seconds=REMOTE_RETRY_BUDGET_SECONDS),
    }


def _credentials(options: dict, client: dict) -> dict | None:
    """``config`` credentials or a ``credential_provider``: given, anonymous, or found by
    botocore as s3fs would find them; ``None`` when there are none."""
    key = options.get("key") or client.get("aws_access_key_id")
    secret = options.get("secret") or client.get("aws_secret_access_key")
    token = options.get("token") or client.get("aws_session_token")
    if options.get("anon"):
        return {"skip_signature": True}
    if key and secret:
        out = {"access_key_id": key, "secret_access_key": secret}
        if token:
            out["token"] = token
        return out
    found = _botocore_credentials(options.get("profile"))
    if found is None:
        return None
    return {"credential_provider": _BotocoreCredentials(found)}


class _BotocoreCredentials:
    """obstore credential provider over botocore's (refreshing) credentials."""

    def __init__(self, credentials):
        self._credentials = credentials

    def __call__(self) -> dict:
        frozen = self._credentials.get_frozen_credentials()
        refreshing = hasattr(self._credentials, "refresh_needed")
        expires = datetime.now(timezone.utc) + timedelta(minutes=5) if refreshing else None
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": expires,
        }

    def __repr__(self) -> str:
        return "_BotocoreCredentials(***)"


def _botocore_session(profile):
    import botocore.session

    return botocore.session.Session(profile=profile)


def _botocore_region(profile) -> str | None:
    try:
        return _botocore_session(profile).get_config_variable("region")
    except Exception:  # a profile that does not exist: let s3fs say so
        return None


def _botocore_credentials(profile):
    try:
        return _botocore_session(profile).get_credentials()
    except Exception:
        return None


def _new_store(settings: dict, bucket: str):
    """An ``S3Store`` for ``bucket`` from :func:`obstore_settings`' arguments."""
    from obstore.store import S3Store

    settings = dict(settings)
    config = dict(settings.pop("config"), bucket=bucket)
    for name in list(settings):
        if name not in _STORE_ARGS:  # credentials belong in the config
            config[name] = settings.pop(name)
    return S3Store(config=config, **settings)


def split_path(path: str) -> tuple[str, str]:
    """``"bucket/key"`` (an s3fs path, ``s3://`` allowed) -> ``("bucket", "key")``."""
    path = path.split("://", 1)[-1]
    bucket, _, key = path.partition("/")
    return bucket, key


def submit_ranges(fs_spec: FileSystemSpec, paths, starts, ends) -> list:
    """Start reading every range; one ``concurrent.futures.Future`` per range, resolving
    to a buffer (``obstore.Bytes``) or failing with the mapped exception."""
    import fsspec.asyn
    import obstore

    loop = fsspec.asyn.get_loop()
    clients = _clients()
    semaphore = clients.semaphore(loop)
    stores: dict = {}  # bucket -> store, looked up once per call

    async def one(store, key, start, end):
        async with semaphore:
            try:
                return await obstore.get_range_async(store, key, start=start, end=end)
            except Exception as e:
                raise _python_error(e) from e

    futures = []
    for path, start, end in zip(paths, starts, ends):
        bucket, key = split_path(path)
        store = stores.get(bucket)
        if store is None:
            store = stores[bucket] = clients.store(fs_spec, bucket)
        futures.append(asyncio.run_coroutine_threadsafe(one(store, key, start, end), loop))
    return futures


class ObstoreTransientError(ConnectionError):
    """obstore gave up on a request that may succeed when asked again."""


def _python_error(e: Exception) -> Exception:
    """obstore's exception as the built-in one our callers handle (its URL masked):
    ``FileNotFoundError``, ``PermissionError``, :class:`ObstoreTransientError` where
    :func:`~intake_tvips.errors.is_transient` says so, else ``OSError``."""
    from obstore import exceptions as ox

    text = mask_url(" ".join(str(e).split(" Debug source:")[0].split()))
    if isinstance(e, (FileNotFoundError, ox.NotFoundError)):
        return FileNotFoundError(text)
    if isinstance(e, (PermissionError, ox.PermissionDeniedError, ox.UnauthenticatedError)):
        return PermissionError(text)
    return ObstoreTransientError(text) if is_transient(e) else OSError(text)
