/**
 * The maintenance page (settings.edge.maintenance) as nginx answers it: in the nginx proxy's own
 * site, and in the small maintenance container Traefik routes the site to.
 */
import { healthServer } from "./nginxHealth";

/** What Retry-After tells browsers and crawlers (a 503 with it is not an error to a search engine). */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 120;

/** Title and one sentence, no external assets: nothing else is served while it shows. */
export const MAINTENANCE_PAGE = [
    "<!doctype html>",
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Down for maintenance</title></head>',
    '<body style="font-family: sans-serif; max-width: 36em; margin: 4em auto; padding: 0 1em;"><h1>Down for maintenance</h1>' +
    "<p>The site is being updated and will be back in a few minutes; please try again shortly.</p></body>",
    "</html>",
    "",
].join("\n");

/** The named location every maintenance 503 is sent to (error_page 503). */
export const MAINTENANCE_LOCATION = "@maintenance";

/**
 * The healthcheck path in the form nginx can compare with $uri inside a quoted string and Traefik
 * can put in a rule: no "$" (an nginx variable), quotes, ";" or "%" escapes (nginx compares the
 * decoded path). config/validators.ts urlPath allows more, for the healthcheck itself.
 */
const EXEMPT_PATH = /^\/[A-Za-z0-9._~!&()*+,=:@/-]*$/;

/** Why `healthcheckPath` cannot stay reachable in maintenance, or undefined when it can. */
export function maintenancePathProblem(healthcheckPath: string): string | undefined {
    return EXEMPT_PATH.test(healthcheckPath)
        ? undefined
        : `the healthcheck path ${JSON.stringify(healthcheckPath)} stays reachable in maintenance, so it must be a plain path ` +
        "(letters, digits and ._~!&()*+,=:@/- only, no $ ' ; or % escapes), such as /healthz";
}

/**
 * The named location that sends the page, with `headers` (the site's security headers: a block
 * with add_header lines of its own inherits none). `return` with a body is not an error page,
 * so nginx sends it as it is.
 */
export function maintenanceLocation(headers: string[]): string[] {
    if (MAINTENANCE_PAGE.includes("'") || MAINTENANCE_PAGE.includes("$") || MAINTENANCE_PAGE.includes("\\")) {
        throw new Error("the maintenance page must not hold ' $ or \\ (an nginx single-quoted string)");
    }
    return [
        `location ${MAINTENANCE_LOCATION} {`,
        "    default_type text/html;",
        "    charset utf-8;",
        `    add_header Retry-After ${MAINTENANCE_RETRY_AFTER_SECONDS} always;`,
        '    add_header Cache-Control "no-store" always;',
        ...headers.map((h) => `    ${h}`),
        `    return 503 '${MAINTENANCE_PAGE}';`,
        "}",
    ];
}

/**
 * What a location that proxies puts before its proxying while maintenance is on: 503, and so the
 * page. Only where the location can hold the app's healthcheck path (`mayHoldHealthcheck`) are
 * GET and HEAD of that exact path let through and proxied as without maintenance, so monitors
 * see the app itself. An `if` holding only `return` is safe in a location.
 */
export function maintenanceGuard(healthcheckPath: string, mayHoldHealthcheck: boolean): string[] {
    const problem = maintenancePathProblem(healthcheckPath);
    if (problem !== undefined) throw new Error(`maintenance: ${problem}`);
    if (!mayHoldHealthcheck) return ["# Maintenance: the page.", "return 503;"];
    return [
        "# Maintenance: the page for everything but GET and HEAD of the app's healthcheck path.",
        'if ($request_method !~ "^(GET|HEAD)$") {',
        "    return 503;",
        "}",
        `if ($uri != "${healthcheckPath}") {`,
        "    return 503;",
        "}",
    ];
}

/**
 * The maintenance container's whole conf.d site (Traefik routes the site to it while maintenance
 * is on): the page for every path and method on listenPort, /healthz on loopback healthPort for
 * its healthcheck. The security headers come from Traefik's middlewares, as for every route.
 */
export function renderMaintenanceSite(o: { listenPort: number; healthPort: number }): string {
    return [
        "# Rendered by the webstack Pulumi program: the maintenance page, for every request Traefik sends here.",
        "server {",
        `    listen ${o.listenPort} default_server;`,
        "    server_name _;",
        "    server_tokens off;",
        `    error_page 503 ${MAINTENANCE_LOCATION};`,
        "",
        "    location / {",
        "        return 503;",
        "    }",
        "",
        ...maintenanceLocation([]).map((l) => `    ${l}`),
        "}",
        "",
        ...healthServer(o.healthPort),
    ].join("\n");
}
