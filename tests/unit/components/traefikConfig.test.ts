import { expect } from "chai";
import {
    appPathRule, hostRule, TRAEFIK_DEFAULT_ROUTE_PRIORITY, TRAEFIK_MAINTENANCE_PRIORITY, TRAEFIK_ROUTE_PRIORITY, traefikArguments, traefikMaintenanceLabels,
    traefikRouteLabels, traefikRouterLabels,
} from "../../../components/traefikConfig";

const main = { router: "webstack-prod", hosts: ["www.example.org"], port: 8000, network: "front", tls: true, hsts: true, maxBodySize: "20m" };
const asObject = (labels: { label: string; value: string }[]) => Object.fromEntries(labels.map((l) => [l.label, l.value]));

describe("traefikArguments: proxyTimeoutSeconds", function () {
    it("sets the default servers transport's responseHeaderTimeout, which every service uses", function () {
        const args = traefikArguments({ network: "n", proxyTimeoutSeconds: 300 });
        expect(args).to.include("--serverstransport.forwardingtimeouts.responseheadertimeout=300s");
        expect(args.filter((a) => a.includes("responseheadertimeout"))).to.have.length(1);
    });

    it("unset, adds no response timeout; the 2 s dial timeout is always there (nginx's proxy_connect_timeout)", function () {
        expect(traefikArguments({ network: "n" }).join(" ")).not.to.include("responseheadertimeout");
        expect(traefikArguments({ network: "n" })).to.include("--serverstransport.forwardingtimeouts.dialtimeout=2s");
        expect(traefikArguments({ network: "n", proxyTimeoutSeconds: undefined })).to.deep.equal(traefikArguments({ network: "n" }));
    });

    it("refuses anything but a whole number of seconds above 0", function () {
        for (const bad of [0, -1, 2.5]) {
            expect(() => traefikArguments({ network: "n", proxyTimeoutSeconds: bad }), String(bad)).to.throw(/proxyTimeoutSeconds/);
        }
    });
});

describe("traefikRouterLabels", function () {
    it("renders the main router's labels as before the routes (no priority of its own)", function () {
        expect(traefikRouterLabels(main).map((l) => l.label)).to.deep.equal([
            "traefik.enable",
            "traefik.docker.network",
            "traefik.http.routers.webstack-prod.rule",
            "traefik.http.routers.webstack-prod.entrypoints",
            "traefik.http.routers.webstack-prod.service",
            "traefik.http.routers.webstack-prod.middlewares",
            "traefik.http.services.webstack-prod.loadbalancer.server.port",
            "traefik.http.middlewares.webstack-prod-headers.headers.contentTypeNosniff",
            "traefik.http.middlewares.webstack-prod-headers.headers.frameDeny",
            "traefik.http.middlewares.webstack-prod-headers.headers.referrerPolicy",
            "traefik.http.middlewares.webstack-prod-body.buffering.maxRequestBodyBytes",
            "traefik.http.routers.webstack-prod.tls.certresolver",
            "traefik.http.middlewares.webstack-prod-headers.headers.stsSeconds",
            "traefik.http.middlewares.webstack-prod-headers.headers.stsIncludeSubdomains",
        ]);
    });
});

describe("traefikRouteLabels", function () {
    const route = { ...main, name: "frontend", pathPrefix: "/app/", port: 3000 };
    const labels = asObject(traefikRouteLabels(route));
    const r = "traefik.http.routers.webstack-prod-frontend";

    it("routes the site's hosts under the prefix to the extra container's port", function () {
        expect(labels).to.deep.include({
            "traefik.enable": "true",
            "traefik.docker.network": "front",
            [`${r}.rule`]: "(Host(`www.example.org`)) && PathPrefix(`/app/`)",
            [`${r}.service`]: "webstack-prod-frontend",
            "traefik.http.services.webstack-prod-frontend.loadbalancer.server.port": "3000",
        });
    });

    it("ranks above the main router, and a longer prefix above a shorter one", function () {
        const priority = Number(labels[`${r}.priority`]);
        const mainLabels = asObject(traefikRouterLabels(main));
        expect(mainLabels).not.to.have.property("traefik.http.routers.webstack-prod.priority");
        // Traefik's default priority is the rule's length.
        expect(priority).to.be.greaterThan(mainLabels["traefik.http.routers.webstack-prod.rule"].length);
        expect(priority).to.be.greaterThan(TRAEFIK_ROUTE_PRIORITY);
        const deeper = asObject(traefikRouteLabels({ ...route, name: "admin", pathPrefix: "/app/admin/" }));
        expect(Number(deeper["traefik.http.routers.webstack-prod-admin.priority"])).to.be.greaterThan(priority);
    });

    it("has the main router's entry points, TLS resolver and edge headers, as middlewares of its own", function () {
        const own = asObject(traefikRouterLabels(main));
        const same = (suffix: string) => expect(labels[`${r}.${suffix}`], suffix).to.equal(own[`traefik.http.routers.webstack-prod.${suffix}`]);
        same("entrypoints");
        same("tls.certresolver");
        expect(labels[`${r}.middlewares`]).to.equal("webstack-prod-frontend-headers,webstack-prod-frontend-body");
        for (const [label, value] of Object.entries(own).filter(([l]) => l.startsWith("traefik.http.middlewares."))) {
            expect(labels[label.replace("webstack-prod-", "webstack-prod-frontend-")], label).to.equal(value);
        }
    });

    it("without TLS: the web entry point, no resolver; without host names, the prefix alone", function () {
        const plain = asObject(traefikRouteLabels({ ...route, tls: false, hsts: false, hosts: [] }));
        expect(plain[`${r}.entrypoints`]).to.equal("web");
        expect(plain).not.to.have.property(`${r}.tls.certresolver`);
        expect(plain).not.to.have.property("traefik.http.middlewares.webstack-prod-frontend-headers.headers.stsSeconds");
        expect(plain[`${r}.rule`]).to.equal("PathPrefix(`/app/`)");
        expect(hostRule(["a", "b"])).to.equal("Host(`a`) || Host(`b`)");
        const two = asObject(traefikRouteLabels({ ...route, hosts: ["a", "b"] }));
        expect(two[`${r}.rule`]).to.equal("(Host(`a`) || Host(`b`)) && PathPrefix(`/app/`)");
    });

    it("refuses a prefix or a name that would not make a sound rule or label", function () {
        // "/" is the default route (see below).
        for (const pathPrefix of ["//", "/app", "app/", "", "/a`) || PathPrefix(`/"]) {
            expect(() => traefikRouteLabels({ ...route, pathPrefix }), pathPrefix).to.throw(/expected a URL prefix/);
        }
        for (const name of ["", "front.end", "-x", "a b"]) {
            expect(() => traefikRouteLabels({ ...route, name }), name).to.throw(/route name/);
        }
    });
});

describe("Traefik: default route and appPaths", function () {
    const appPaths = ["/api/", "/docs", "/redoc", "/openapi.json"];
    const rule = "traefik.http.routers.webstack-prod.rule";
    const paths = "PathPrefix(`/api/`) || Path(`/docs`) || PathPrefix(`/docs/`) || Path(`/redoc`) || PathPrefix(`/redoc/`)"
        + " || Path(`/openapi.json`) || PathPrefix(`/openapi.json/`)";

    it("the main router takes only the app's paths of the site's hosts, at Traefik's default priority", function () {
        const labels = asObject(traefikRouterLabels({ ...main, appPaths }));
        expect(labels[rule]).to.equal(`(Host(\`www.example.org\`)) && (${paths})`);
        expect(labels).not.to.have.property("traefik.http.routers.webstack-prod.priority");
        expect(asObject(traefikRouterLabels({ ...main, hosts: [], appPaths: ["/api/"] }))[rule]).to.equal("PathPrefix(`/api/`)");
        expect(asObject(traefikRouterLabels({ ...main, hosts: ["a", "b"], appPaths: ["/api/"] }))[rule]).to.equal("(Host(`a`) || Host(`b`)) && (PathPrefix(`/api/`))");
    });

    it("without appPaths (or with none), the main router's labels are exactly as before", function () {
        expect(traefikRouterLabels({ ...main, appPaths: [] })).to.deep.equal(traefikRouterLabels(main));
        expect(traefikRouterLabels({ ...main, appPaths: undefined })).to.deep.equal(traefikRouterLabels(main));
        expect(asObject(traefikRouterLabels(main))[rule]).to.equal("Host(`www.example.org`)");
    });

    it("the default route / ranks below the main router (so its paths win) and below every other route", function () {
        const fallback = asObject(traefikRouteLabels({ ...main, name: "frontend", pathPrefix: "/", port: 80 }));
        const r = "traefik.http.routers.webstack-prod-frontend";
        expect(fallback[`${r}.rule`]).to.equal("(Host(`www.example.org`)) && PathPrefix(`/`)");
        expect(fallback[`${r}.priority`]).to.equal(String(TRAEFIK_DEFAULT_ROUTE_PRIORITY));
        // Traefik's default priority is the rule's length.
        const mainRule = asObject(traefikRouterLabels({ ...main, hosts: [], appPaths: ["/a"] }))[rule];
        expect(mainRule.length).to.be.greaterThan(TRAEFIK_DEFAULT_ROUTE_PRIORITY);
        const other = asObject(traefikRouteLabels({ ...main, name: "admin", pathPrefix: "/admin/", port: 80 }));
        expect(Number(other["traefik.http.routers.webstack-prod-admin.priority"])).to.be.greaterThan(TRAEFIK_DEFAULT_ROUTE_PRIORITY);
        expect(asObject(traefikRouteLabels({ ...main, name: "frontend", pathPrefix: "/", port: 80, hosts: [] }))[`${r}.rule`]).to.equal("PathPrefix(`/`)");
    });

    it("refuses app paths that would not make a sound rule", function () {
        for (const bad of ["/", "api/", "/a`) || PathPrefix(`/", "/x/../", ""]) {
            expect(() => traefikRouterLabels({ ...main, appPaths: [bad] }), bad).to.throw(/appPath .*expected a path such as \/api\//);
        }
        expect(appPathRule(["/docs"])).to.equal("Path(`/docs`) || PathPrefix(`/docs/`)");
    });
});

describe("traefikMaintenanceLabels", function () {
    const o = { ...main, port: 80, healthcheckPath: "/accounts/login/", keepPrefixes: ["/static/", "/media/", "/pgadmin/"] };
    const labels = asObject(traefikMaintenanceLabels(o));
    const r = "traefik.http.routers.webstack-prod-maintenance";

    it("takes the site's hosts but GET and HEAD of the healthcheck path and the kept prefixes", function () {
        expect(labels[`${r}.rule`]).to.equal("(Host(`www.example.org`)) && !(Path(`/accounts/login/`) && (Method(`GET`) || Method(`HEAD`)))"
            + " && !PathPrefix(`/static/`) && !PathPrefix(`/media/`) && !PathPrefix(`/pgadmin/`)");
        const anyHost = asObject(traefikMaintenanceLabels({ ...o, hosts: [], keepPrefixes: [] }));
        expect(anyHost[`${r}.rule`]).to.equal("PathPrefix(`/`) && !(Path(`/accounts/login/`) && (Method(`GET`) || Method(`HEAD`)))");
        expect(labels["traefik.http.services.webstack-prod-maintenance.loadbalancer.server.port"]).to.equal("80");
    });

    it("ranks above the main router and every route, however long its prefix", function () {
        const priority = Number(labels[`${r}.priority`]);
        expect(priority).to.equal(TRAEFIK_MAINTENANCE_PRIORITY);
        const deep = asObject(traefikRouteLabels({ ...main, name: "deep", pathPrefix: `/${"a/".repeat(200)}`, port: 80 }));
        expect(priority).to.be.greaterThan(Number(deep["traefik.http.routers.webstack-prod-deep.priority"]));
        const longMain = asObject(traefikRouterLabels({ ...main, appPaths: Array.from({ length: 50 }, (_, i) => `/api${i}/`) }));
        expect(priority).to.be.greaterThan(longMain["traefik.http.routers.webstack-prod.rule"].length);
    });

    it("an HTTP router with the main router's entry points, TLS resolver and edge headers: no TCP router to take TLS-ALPN", function () {
        const own = asObject(traefikRouterLabels(main));
        for (const suffix of ["entrypoints", "tls.certresolver"]) expect(labels[`${r}.${suffix}`], suffix).to.equal(own[`traefik.http.routers.webstack-prod.${suffix}`]);
        for (const [label, value] of Object.entries(own).filter(([l]) => l.startsWith("traefik.http.middlewares."))) {
            expect(labels[label.replace("webstack-prod-", "webstack-prod-maintenance-")], label).to.equal(value);
        }
        expect(Object.keys(labels).filter((l) => l.startsWith("traefik.tcp.") || l.startsWith("traefik.udp."))).to.deep.equal([]);
    });

    it("refuses a healthcheck path or a kept prefix that would not make a sound rule", function () {
        expect(() => traefikMaintenanceLabels({ ...o, healthcheckPath: "/a`) || Path(`/" })).to.throw(/maintenance: the healthcheck path/);
        expect(() => traefikMaintenanceLabels({ ...o, keepPrefixes: ["/x"] })).to.throw(/kept prefix "\/x"/);
    });
});
