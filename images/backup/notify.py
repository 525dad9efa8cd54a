#!/usr/bin/env python3
"""notify.py: send one alert to the webhook in ALERT_WEBHOOK_URL, in the form ALERT_FORMAT names.

    notify.py [--title TITLE] [--priority 1-5] [--tags a,b] MESSAGE

    slack  POST {"text": "TITLE\\nMESSAGE"} to the URL (Slack, Mattermost, Rocket.Chat, ...)
    ntfy   the URL is a topic URL (https://ntfy.sh/my-topic): POST {"topic", "title",
           "message", "priority", "tags"} to the server's root (https://ntfy.sh/)

ALERT_SOURCE (the stack, webstack-prod) prefixes the title. Credentials in the URL
(https://user:pass@host/topic) are sent as Basic authorization. Exit 0 when the webhook
answered 2xx, 1 when it did not (after one retry), 2 on bad usage. The URL is a secret: it is
never printed, not even in errors. Standard library only.
"""
import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

FORMATS = ("slack", "ntfy")
TIMEOUT_SECONDS = 10


def request_for(url, fmt, title, message, priority=4, tags=()):
    """The (url, body, headers) of one alert; pure, so tests can check the exact JSON."""
    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json", "User-Agent": "webstack-notify"}
    if parts.username is not None:
        token = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        host = parts.hostname + (":%d" % parts.port if parts.port else "")
        parts = parts._replace(netloc=host)
    if fmt == "slack":
        body = {"text": "%s\n%s" % (title, message)}
        target = urllib.parse.urlunsplit(parts)
    elif fmt == "ntfy":
        path = parts.path.rstrip("/")
        topic = path.rsplit("/", 1)[-1]
        if not topic:
            raise ValueError("an ntfy webhook must be a topic URL such as https://ntfy.sh/my-topic")
        root = path[: len(path) - len(topic)] or "/"
        body = {"topic": topic, "title": title, "message": message, "priority": priority, "tags": list(tags)}
        target = urllib.parse.urlunsplit(parts._replace(path=root))
    else:
        raise ValueError("ALERT_FORMAT must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    return target, json.dumps(body, separators=(",", ":")).encode(), headers


def send(title, message, priority=4, tags=(), env=None):
    """Sends one alert; returns (ok, detail). detail never holds the URL."""
    env = os.environ if env is None else env
    url = env.get("ALERT_WEBHOOK_URL", "")
    if not url:
        return False, "ALERT_WEBHOOK_URL is not set"
    source = env.get("ALERT_SOURCE", "")
    if source:
        title = "[%s] %s" % (source, title)
    try:
        target, body, headers = request_for(url, env.get("ALERT_FORMAT", "slack"), title, message, priority, tags)
    except ValueError as err:
        return False, str(err)
    detail = ""
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(urllib.request.Request(target, data=body, headers=headers, method="POST"),
                                        timeout=TIMEOUT_SECONDS) as reply:
                return True, "the webhook answered %d" % reply.status
        except urllib.error.HTTPError as err:
            detail = "the webhook answered HTTP %d" % err.code
        except urllib.error.URLError as err:
            detail = "the webhook could not be reached (%s)" % (err.reason,)
        except (OSError, ValueError) as err:
            detail = "the webhook could not be reached (%s)" % type(err).__name__
        if attempt == 1:
            time.sleep(2)
    return False, detail


def main(argv):
    parser = argparse.ArgumentParser(description="Send one alert to ALERT_WEBHOOK_URL.")
    parser.add_argument("--title", default="webstack alert")
    parser.add_argument("--priority", type=int, choices=range(1, 6), default=4)
    parser.add_argument("--tags", default="warning", help="comma-separated (ntfy)")
    parser.add_argument("message")
    args = parser.parse_args(argv)
    tags = [t for t in args.tags.split(",") if t]
    ok, detail = send(args.title, args.message, args.priority, tags)
    print("notify: %s: %s" % ("sent" if ok else "ERROR: not sent", detail), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
