"""Gunicorn configuration (read automatically from the working directory).

Environment variables:
  GUNICORN_BIND        default "0.0.0.0:8000"
  GUNICORN_WORKERS     default 2 * CPUs + 1, capped at 8
  FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* (default "127.0.0.1")
"""
import os


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _default_workers():
    return min(2 * _cpu_count() + 1, 8)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "") or _default_workers())
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"

timeout = 60
graceful_timeout = 30

# Heartbeat files on tmpfs: avoids worker stalls when /tmp is on a slow or
# overlay filesystem (Docker).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
