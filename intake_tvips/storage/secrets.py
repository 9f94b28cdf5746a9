"""Which storage options are secrets: masking for display, filtering for catalogs.

Only keys known to configure rather than authenticate (:data:`SAFE_OPTION_KEYS`) are ever
shown or written; everything else (``key``, ``secret``, ``token``, ``headers``, ...) is
treated as a secret. Standard library only (the command line imports it without intake).
"""

from __future__ import annotations

import re

#: shown instead of a storage option's value in ``repr``/``describe``
MASK = "***"
#: storage option keys whose values are shown (they configure, they do not authenticate)
SAFE_OPTION_KEYS = frozenset(
    {
        "anon",
        "endpoint_url",
        "region_name",
        "use_ssl",
        "verify",
        "requester_pays",
        "profile",
        "block_size",
        "default_block_size",
        "cache_type",
        "default_cache_type",
        "default_fill_cache",
        "simple_links",
        "same_scheme",
        "use_listings_cache",
        "skip_instance_cache",
        "version_aware",
        "client_kwargs",
        "config_kwargs",
    }
)
_URL_USERINFO = re.compile(r"(://)[^/@]*@")


def mask_storage_options(options):
    """A copy of ``options`` with every value masked except known harmless ones.

    Dicts are followed (``client_kwargs``, ``config_kwargs``, ...); a value is shown only
    when its key is in :data:`SAFE_OPTION_KEYS` (URL user info is masked even then), so
    keys we do not know (``key``, ``secret``, ``token``, ``headers``, ...) never show.
    """
    if not isinstance(options, dict):
        return MASK if options else options
    out = {}
    for k, v in options.items():
        if isinstance(v, dict):
            out[k] = mask_storage_options(v)
        elif k in SAFE_OPTION_KEYS:
            out[k] = mask_url(v) if isinstance(v, str) else v
        else:
            out[k] = MASK
    return out


def mask_url(url):
    """``scheme://user:pass@host/...`` -> ``scheme://***@host/...``."""
    if isinstance(url, str):
        return _URL_USERINFO.sub(rf"\g<1>{MASK}@", url)
    if isinstance(url, (list, tuple)):
        return type(url)(mask_url(u) for u in url)
    return url


def strip_url_credentials(url: str) -> str:
    """``scheme://user:pass@host/...`` -> ``scheme://host/...`` (for a catalog: no secret
    and no mask that would break the URL)."""
    return _URL_USERINFO.sub(r"\1", url)


def catalog_safe_options(options: dict, prefix: str = "") -> tuple[dict, list[str]]:
    """``(kept, dropped)``: the storage options whose keys are known to configure, not
    authenticate (:data:`SAFE_OPTION_KEYS`, also inside ``client_kwargs`` and other
    dicts), which may be written to a catalog, and the dotted names of all the others."""
    kept: dict = {}
    dropped: list[str] = []
    for k, v in options.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            sub, lost = catalog_safe_options(v, name + ".")
            dropped += lost
            if sub:
                kept[k] = sub
        elif k in SAFE_OPTION_KEYS:
            kept[k] = v
        else:
            dropped.append(name)
    return kept, dropped
