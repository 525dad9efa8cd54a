#!/usr/bin/env python3
"""Container health check (stdlib only).

    python3 healthcheck.py [URL]

URL defaults to $HEALTHCHECK_URL or http://127.0.0.1:8000/accounts/login/.
Exit status 0 on an HTTP 2xx/3xx answer within 5 seconds, 1 otherwise (with a
one-line reason on stderr). Redirects are not followed: a 3xx counts as up.

The Host header is taken from $HEALTHCHECK_HOST, else from the first usable
entry of $DJANGO_ALLOWED_HOSTS, so that Django does not reject the probe with
400 (DisallowedHost) when 127.0.0.1 is not an allowed host.
"""
import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/accounts/login/"
TIMEOUT = 5.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # -> HTTPError with the 3xx code


def _host_header():
    host = os.environ.get("HEALTHCHECK_HOST", "").strip()
    if host:
        return host
    for entry in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*" and "*" not in entry:
            return entry
    return None


def check(url):
    request = urllib.request.Request(url, headers={"User-Agent": "healthcheck"})
    host = _host_header()
    if host:
        request.add_unredirected_header("Host", host)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except Exception as exc:  # URLError, timeout, connection reset, ...
        reason = getattr(exc, "reason", exc)
        return 1, "unhealthy: %s: %s" % (url, reason)
    if 200 <= status < 400:
        return 0, None
    return 1, "unhealthy: %s: HTTP %d" % (url, status)


def main(argv):
    url = argv[1] if len(argv) > 1 else os.environ.get("HEALTHCHECK_URL") or DEFAULT_URL
    code, message = check(url)
    if message:
        print(message, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
