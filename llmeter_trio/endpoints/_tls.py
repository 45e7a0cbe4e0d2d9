"""The TLS settings of HTTPS connections, made in one place for both transports."""

from __future__ import annotations

import os
import ssl

import certifi  # httpx's own dependency: the CA bundle httpx trusts by default

__all__ = ["tls_context"]


def tls_context(verify: bool | str = True) -> ssl.SSLContext:
    """An SSL context for client connections.

    - ``True``: certificates are checked against the CA bundle named by the
      ``SSL_CERT_FILE`` (a file) or ``SSL_CERT_DIR`` (a directory) environment
      variable, else certifi's bundle: the trust httpx uses by default.
    - a path: the CA bundle in that file (PEM) or directory, e.g. a company's
      private CA.
    - ``False``: no checking at all (certificate and host name).

    A path that cannot be read is a `ValueError` naming it.
    """
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        cafile = os.environ.get("SSL_CERT_FILE")
        capath = None if cafile else os.environ.get("SSL_CERT_DIR")
        if not cafile and not capath:
            cafile = certifi.where()
        where = cafile or capath
    else:
        where = os.fspath(verify)
        cafile, capath = (None, where) if os.path.isdir(where) else (where, None)
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot read the CA bundle {where!r} for TLS: {exc}") from exc
