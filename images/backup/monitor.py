#!/usr/bin/env python3
"""monitor.py: watch the stack's host and send alerts through notify.py (ALERT_WEBHOOK_URL).

    monitor.py            run until stopped: checks every MONITOR_INTERVAL_SECONDS, and Docker
                          events as they come
    monitor.py --once     run the checks once (no events) and exit

Conditions, checked every interval (default 300 s):
  disk         a filesystem in ALERT_DISKS ("/backups=the backups storage,/media=...") fuller
               than ALERT_DISK_PERCENT (statvfs, as df counts: used / (used + available));
               paths on one filesystem are checked once
  certificate  the certificate ALERT_TLS_ADDRESS (proxy:443) serves for ALERT_TLS_SERVERNAME
               (SNI) expires within ALERT_CERTIFICATE_DAYS (openssl s_client); skipped when
               ALERT_TLS_ADDRESS is empty (TLS off). Unreachable: logged, not alerted, and an
               alert already sent stays open.
A condition is sent when it starts, again at most every ALERT_REPEAT_SECONDS (86400) while it
lasts, and a "resolved" message when it clears.

Events: each Docker "restart" event of a container labelled ALERT_RESTART_LABEL (autoheal=true),
read from DOCKER_SOCKET, is sent at once; further restarts of the same container within
ALERT_REPEAT_SECONDS are counted and reported with its next message.

State (what was sent when) is kept in MONITOR_STATE (/tmp/monitor-state.json), so a restarted
monitor does not repeat itself. MONITOR_HEARTBEAT (/tmp/monitor-alive) is touched at least every
30 s while the loop and the event watcher run: the container's healthcheck. The webhook URL is
never printed. Standard library only.
"""
import http.client
import json
import math
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notify  # noqa: E402

HEARTBEAT_SECONDS = 30


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print("%s monitor: %s" % (stamp, message), file=sys.stderr, flush=True)


def parse_disks(value):
    """ "/backups=label,/media" -> [("/backups", "label"), ("/media", "/media")]"""
    disks = []
    for entry in value.split(","):
        entry = entry.strip()
        if entry:
            path, _, label = entry.partition("=")
            disks.append((path, label or path))
    return disks


class Config:
    def __init__(self, env):
        self.interval = int(env.get("MONITOR_INTERVAL_SECONDS", "300"))
        self.repeat = int(env.get("ALERT_REPEAT_SECONDS", "86400"))
        self.disk_percent = float(env.get("ALERT_DISK_PERCENT", "85"))
        self.disks = parse_disks(env.get("ALERT_DISKS", ""))
        self.certificate_days = int(env.get("ALERT_CERTIFICATE_DAYS", "14"))
        self.tls_address = env.get("ALERT_TLS_ADDRESS", "")
        self.tls_servername = env.get("ALERT_TLS_SERVERNAME", "")
        self.docker_socket = env.get("DOCKER_SOCKET", "/var/run/docker.sock")
        self.restart_label = env.get("ALERT_RESTART_LABEL", "autoheal=true")
        self.state_file = env.get("MONITOR_STATE", "/tmp/monitor-state.json")
        self.heartbeat = env.get("MONITOR_HEARTBEAT", "/tmp/monitor-alive")
        if self.interval < 1 or self.repeat < 0:
            raise ValueError("MONITOR_INTERVAL_SECONDS must be at least 1 and ALERT_REPEAT_SECONDS not negative")


# ---- Checks: each returns {key: (title, message) for a problem, or None when fine}; a key
# left out could not be checked.

def check_disks(cfg):
    results, seen = {}, set()
    for path, label in cfg.disks:
        try:
            device = os.stat(path).st_dev
            st = os.statvfs(path)
        except OSError as err:
            log("cannot check the disk of %s: %s" % (path, err.strerror))
            continue
        if device in seen:
            continue
        seen.add(device)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        available = st.f_bavail * st.f_frsize
        percent = 100.0 * used / (used + available) if used + available else 0.0
        key = "disk:%s" % path
        if percent > cfg.disk_percent:
            results[key] = ("Disk %.0f%% full" % percent,
                            "The disk of %s (%s) is %.0f%% full, over the %.0f%% threshold: %.1f GiB free of %.1f GiB."
                            % (path, label, percent, cfg.disk_percent, available / 2**30, (used + available) / 2**30))
        else:
            results[key] = None
            results[key + ":now"] = "%s %.0f%%" % (path, percent)
    return results


def certificate_end(address, servername, timeout=15):
    """The notAfter of the certificate served at address for servername, in epoch seconds."""
    args = ["openssl", "s_client", "-connect", address]
    if servername:
        args += ["-servername", servername]
    hello = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    pem = hello.stdout
    if b"BEGIN CERTIFICATE" not in pem:
        lines = hello.stderr.decode(errors="replace").strip().splitlines()
        raise OSError(lines[-1] if lines else "no certificate in the TLS handshake")
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=pem, capture_output=True, timeout=timeout)
    text = end.stdout.decode().strip()
    if end.returncode != 0 or not text.startswith("notAfter="):
        raise OSError("openssl x509 could not read the certificate")
    return ssl.cert_time_to_seconds(text[len("notAfter="):])


def check_certificate(cfg, now):
    if not cfg.tls_address:
        return {}
    name = cfg.tls_servername or cfg.tls_address
    try:
        end = certificate_end(cfg.tls_address, cfg.tls_servername)
    except (OSError, subprocess.SubprocessError) as err:
        log("cannot read the certificate for %s at %s: %s" % (name, cfg.tls_address, err))
        return {}
    days = (end - now) / 86400
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(end))
    if days < 0:
        return {"certificate": ("TLS certificate expired", "The certificate for %s expired on %s." % (name, when))}
    if days < cfg.certificate_days:
        return {"certificate": ("TLS certificate expires in %d days" % int(days),
                                "The certificate for %s expires on %s, in %.1f days (alert threshold %d days)."
                                % (name, when, math.floor(days * 10) / 10, cfg.certificate_days))}
    return {"certificate": None, "certificate:now": "%s until %s" % (name, when)}


# ---- Docker restart events

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def watch_events(cfg, events, alive):
    """Puts each matching restart event on `events`; reconnects (from the last event) on errors."""
    since = int(time.time())
    last = 0
    filters = json.dumps({"type": ["container"], "event": ["restart"], "label": [cfg.restart_label]})
    while True:
        try:
            conn = UnixHTTPConnection(cfg.docker_socket)
            conn.request("GET", "/events?since=%d&filters=%s" % (since, urllib.parse.quote(filters)))
            reply = conn.getresponse()
            if reply.status != 200:
                raise OSError("Docker answered %d" % reply.status)
            log("watching Docker restart events of containers labelled %s" % cfg.restart_label)
            alive.set()
            touch(cfg.heartbeat)
            while True:
                line = reply.readline()
                if not line:
                    raise OSError("the Docker event stream ended")
                event = json.loads(line)
                nano = int(event.get("timeNano", 0))
                if nano <= last:
                    continue
                last = nano
                since = int(event.get("time", since))
                events.put(event)
        except (OSError, ValueError, http.client.HTTPException) as err:
            alive.clear()
            log("Docker events at %s: %s; reconnecting in 5 s" % (cfg.docker_socket, err))
            time.sleep(5)


# ---- Alerts, with what was sent when

class Alerts:
    def __init__(self, cfg, send=notify.send):
        self.cfg = cfg
        self.send = send
        self.state = {"conditions": {}, "events": {}}
        try:
            with open(cfg.state_file) as f:
                loaded = json.load(f)
            self.state["conditions"].update(loaded.get("conditions", {}))
            self.state["events"].update(loaded.get("events", {}))
        except (OSError, ValueError):
            pass

    def save(self):
        tmp = self.cfg.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.replace(tmp, self.cfg.state_file)

    def deliver(self, title, message, priority, tags):
        ok, detail = self.send(title, message, priority, tags)
        log("%s %r: %s" % ("sent" if ok else "ERROR: could not send", title, detail))
        return ok

    def conditions(self, results, now):
        active = self.state["conditions"]
        for key, problem in results.items():
            if key.endswith(":now"):
                continue
            entry = active.get(key)
            if problem is not None:
                title, message = problem
                if entry is None:
                    entry = active[key] = {"since": now, "sent": None}
                if entry["sent"] is None or now - entry["sent"] >= self.cfg.repeat:
                    still = "" if entry["sent"] is None else " (still, since %s)" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(entry["since"]))
                    if self.deliver(title, message + still, 4, ["warning"]):
                        entry["sent"] = now
                entry["title"] = title
            elif entry is not None:
                if entry["sent"] is None:
                    del active[key]
                    continue
                now_text = results.get(key + ":now", "")
                message = "Resolved: %s%s" % (entry.get("title", key), " (now %s)" % now_text if now_text else "")
                if self.deliver("Resolved: %s" % entry.get("title", key), message, 3, ["white_check_mark"]):
                    del active[key]
        self.save()

    def restart(self, event, now):
        name = event.get("Actor", {}).get("Attributes", {}).get("name", event.get("id", "?")[:12])
        key = "restart:%s" % name
        entry = self.state["events"].setdefault(key, {"sent": None, "suppressed": 0})
        if entry["sent"] is not None and now - entry["sent"] < self.cfg.repeat:
            entry["suppressed"] += 1
            log("container %s restarted again; reported with its next alert (%d since the last)" % (name, entry["suppressed"]))
        else:
            more = ""
            if entry["suppressed"]:
                more = " It was also restarted %d more times since the last alert." % entry["suppressed"]
            message = ("Container %s was restarted by autoheal (its healthcheck said unhealthy) at %s.%s"
                       % (name, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(event.get("time", now)))), more))
            if self.deliver("Container %s restarted" % name, message, 4, ["warning", "arrows_counterclockwise"]):
                entry["sent"] = now
                entry["suppressed"] = 0
        self.save()


def run_checks(cfg, alerts):
    now = time.time()
    results = {}
    results.update(check_disks(cfg))
    results.update(check_certificate(cfg, now))
    alerts.conditions(results, now)


def touch(path):
    with open(path, "a"):
        os.utime(path)


def main(argv):
    cfg = Config(os.environ)
    if not os.environ.get("ALERT_WEBHOOK_URL"):
        log("ERROR: ALERT_WEBHOOK_URL is not set; nothing to send alerts to")
        return 2
    alerts = Alerts(cfg)
    checks = ["disks %s over %g%%" % (", ".join(p for p, _ in cfg.disks) or "(none)", cfg.disk_percent)]
    checks.append("certificate of %s at %s within %d days" % (cfg.tls_servername or "?", cfg.tls_address, cfg.certificate_days)
                  if cfg.tls_address else "no certificate (TLS off)")
    if "--once" in argv:
        log("checking once: %s" % "; ".join(checks))
        run_checks(cfg, alerts)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("every %d s: %s; restarts of containers labelled %s at once; alerts as %s"
        % (cfg.interval, "; ".join(checks), cfg.restart_label, os.environ.get("ALERT_FORMAT", "slack")))
    events = queue.Queue()
    alive = threading.Event()
    threading.Thread(target=watch_events, args=(cfg, events, alive), daemon=True).start()
    next_check = 0.0
    while True:
        if time.time() >= next_check:
            run_checks(cfg, alerts)
            next_check = time.time() + cfg.interval
        if alive.is_set():
            touch(cfg.heartbeat)
        try:
            event = events.get(timeout=max(0.1, min(HEARTBEAT_SECONDS, next_check - time.time())))
        except queue.Empty:
            continue
        alerts.restart(event, time.time())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
