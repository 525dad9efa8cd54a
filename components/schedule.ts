/**
 * Cron-style schedules for commands from the app image: a five-field expression (minute hour
 * day-of-month month day-of-week, UTC; checked by config/validators.ts cronProblem) run by a small
 * Python loop inside the app's own image, so no cron daemon and no Docker socket are needed.
 */

/**
 * The scheduler loop: at every minute whose UTC time matches, run the command (argv) and log its
 * exit code; a run still going when the next is due is not started twice. Stops on SIGTERM after
 * the current run. Python's standard library only: the app image has python3.
 */
export const SCHEDULER_PY = String.raw`
import datetime, json, signal, subprocess, sys, time
expression, command = sys.argv[1], json.loads(sys.argv[2])
HEARTBEAT = "/tmp/webstack-schedule-alive"
parts = expression.split()
limits = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
def expand(field, low, high):
    values = set()
    for item in field.split(","):
        rng, _, step = item.partition("/")
        if rng == "*":
            a, b = low, high
        elif "-" in rng:
            a, b = map(int, rng.split("-"))
        else:
            a = b = int(rng)
            if step:
                b = high
        values.update(range(a, b + 1, int(step) if step else 1))
    return values
minutes, hours, days, months, weekdays = [expand(f, lo, hi) for f, (lo, hi) in zip(parts, limits)]
if 7 in weekdays:
    weekdays.add(0)
def due(t):
    dom, dow = t.day in days, (t.weekday() + 1) % 7 in weekdays
    # As cron: when both day fields are restricted, either may match.
    day = (dom or dow) if parts[2] != "*" and parts[4] != "*" else (dom and dow)
    return t.minute in minutes and t.hour in hours and t.month in months and day
if sys.argv[3:] == ["--check"]:
    for line in sys.stdin:
        print(int(due(datetime.datetime.fromisoformat(line.strip()))))
    sys.exit(0)
stopping = False
def stop(*_):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print("schedule %r (UTC): %s" % (expression, " ".join(command)), flush=True)
last = None
while not stopping:
    # The healthcheck's heartbeat: the loop is alive and not stuck (a run in progress keeps it old).
    open(HEARTBEAT, "w").close()
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    if now != last and due(now):
        last = now
        started = time.time()
        code = subprocess.call(command)
        print("schedule: the run of %s exited %d after %.0f s" % (now.isoformat(), code, time.time() - started), flush=True)
    time.sleep(1)
`;

/** The scheduler's file, touched every second by the loop while it waits. */
export const SCHEDULER_HEARTBEAT = "/tmp/webstack-schedule-alive";

/**
 * Healthy while the loop's heartbeat is recent. A run longer than `graceSeconds` turns it
 * unhealthy, which is what a stuck job looks like.
 */
export function schedulerHealthcheck(graceSeconds: number): string[] {
    return ["python3", "-c", `import os, sys, time; sys.exit(time.time() - os.path.getmtime("${SCHEDULER_HEARTBEAT}") > ${graceSeconds})`];
}

/** The container command that runs `command` on `expression` with the loop above. */
export function scheduledCommand(expression: string, command: string[]): string[] {
    return ["python3", "-c", SCHEDULER_PY, expression, JSON.stringify(command)];
}
