/** The server the container's healthcheck asks: /healthz on loopback only. */
export function healthServer(port: number): string[] {
    return [
        "server {",
        `    listen 127.0.0.1:${port};`,
        "    access_log off;",
        "    location = /healthz {",
        '        return 200 "ok\\n";',
        "    }",
        "}",
        "",
    ];
}
