/**
 * A duration written as Go's time.Duration.String() writes it ("1m0s", "1h0m0s"), which is how the
 * docker provider reads healthcheck durations back. Any other spelling ("60s") differs from the
 * state on every preview, a change that never settles.
 */
export function goDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`goDuration: expected whole seconds, got ${seconds}`);
    if (seconds === 0) return "0s";
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
}

/** Healthchecks in the docker provider's shape. Pure, so tests can run the commands for real. */
export interface Healthcheck {
    tests: string[];
    interval: string;
    timeout: string;
    startPeriod: string;
    retries: number;
}

/** Ready only once the real server listens on TCP, not while initdb scripts run on the socket. */
export function databaseHealthcheck(user: string, database: string): Healthcheck {
    return {
        tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database],
        interval: goDuration(10),
        timeout: goDuration(5),
        startPeriod: goDuration(120),
        retries: 6,
    };
}

/**
 * Stdlib-only HTTP probe: app images need no curl. Healthy on 2xx/3xx.
 * Redirects are not followed, so a redirect to HTTPS still counts as up.
 */
const HTTP_PROBE = [
    "import sys, urllib.request, urllib.error",
    "class NoRedirect(urllib.request.HTTPRedirectHandler):",
    "    def redirect_request(self, *args, **kwargs): return None",
    "try:",
    "    code = urllib.request.build_opener(NoRedirect).open(sys.argv[1], timeout=4).status",
    "except urllib.error.HTTPError as err:",
    "    code = err.code",
    "except Exception as err:",
    "    sys.exit('unreachable: %s' % err)",
    "sys.exit(0 if 200 <= code < 400 else 'HTTP %d' % code)",
].join("\n");

export function httpHealthcheck(port: number, path: string): Healthcheck {
    return {
        tests: ["CMD", "python3", "-c", HTTP_PROBE, `http://localhost:${port}${path}`],
        interval: goDuration(30),
        timeout: goDuration(5),
        startPeriod: goDuration(60),
        retries: 3,
    };
}

export function commandHealthcheck(command: string[]): Healthcheck {
    return { tests: ["CMD", ...command], interval: goDuration(30), timeout: goDuration(5), startPeriod: goDuration(60), retries: 3 };
}

/**
 * A goDuration() as the docker provider reads a Swarm service's durations back: Go's form with a
 * trailing "0s" or "0m" cut ("1m0s" is "1m", "1h0m0s" is "1h"), so that previews settle.
 */
export function serviceDuration(duration: string): string {
    let s = duration;
    if (s.endsWith("m0s")) s = s.slice(0, -2);
    if (s.endsWith("h0m")) s = s.slice(0, -2);
    return s;
}
