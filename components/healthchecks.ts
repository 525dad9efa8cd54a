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
        interval: "10s",
        timeout: "5s",
        startPeriod: "120s",
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
        interval: "30s",
        timeout: "5s",
        startPeriod: "60s",
        retries: 3,
    };
}

export function commandHealthcheck(command: string[]): Healthcheck {
    return { tests: ["CMD", ...command], interval: "30s", timeout: "5s", startPeriod: "60s", retries: 3 };
}
