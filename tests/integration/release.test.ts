/**
 * The release step exactly as the program renders it (the release container's command and
 * environment), run in app/ like the image's WORKDIR against a real PostgreSQL: it migrates,
 * collects static files and creates the superuser, and running it again changes nothing.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { expect } from "chai";
import { releaseOf, renderStack, container, containerEnv } from "./program";
import { APP_DIR, appEnv, Postgres, requireDjangoApp, requirePostgres, RunResult, runInApp, tempDir } from "./servers";

/** Every file under `dir`: relative path to sha256 of its content. */
function snapshot(dir: string): Record<string, string> {
    const files: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = path.posix.join(rel, entry.name);
            if (entry.isDirectory()) walk(child);
            else files[child] = crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, child))).digest("hex");
        }
    };
    walk("");
    return files;
}

describe("release: the program's release command against a real database", function () {
    let pg: Postgres | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;
    let command: string[];
    let env: Record<string, string>;
    let staticRoot: string;
    let first: RunResult;

    async function state() {
        return {
            users: await pg!.query("SELECT count(*) FROM auth_user"),
            migrations: await pg!.query("SELECT count(*) FROM django_migrations"),
            superusers: await pg!.query("SELECT username, is_superuser, is_staff, email FROM auth_user ORDER BY id"),
            static: snapshot(staticRoot),
        };
    }

    before(async function () {
        this.timeout(120_000);
        requirePostgres();
        requireDjangoApp();
        const resources = await renderStack("dev");
        const release = releaseOf(resources);
        command = release.command;
        tmp = tempDir("release");
        pg = await Postgres.start({ containerEnv: containerEnv(container(resources, "-db")) });
        staticRoot = path.join(tmp.path, "static");
        fs.mkdirSync(staticRoot);
        // The program's environment; only the database address and the volume paths are the test's.
        env = appEnv(release.env, {
            ...pg.appOverrides(),
            DJANGO_STATIC_ROOT: staticRoot,
            DJANGO_MEDIA_ROOT: path.join(tmp.path, "media"),
        });
        first = await runInApp(command, env);
    });

    after(async function () {
        this.timeout(60_000);
        try {
            await pg?.destroy();
        } finally {
            tmp?.remove();
        }
    });

    it("is a shell script run by sh -c, with a superuser to create", function () {
        expect(command.slice(0, 2)).to.deep.equal(["sh", "-c"]);
        expect(env.DJANGO_SUPERUSER_USERNAME).to.equal("admin");
        expect(env.DJANGO_SUPERUSER_PASSWORD).to.not.equal("");
    });

    it("exits 0 on a fresh database", function () {
        expect(first.code, first.output).to.equal(0);
        expect(first.stdout).to.contain("release: creating superuser admin");
    });

    it("applied every migration, the q3c index included", async function () {
        const show = await runInApp(["python3", "manage.py", "showmigrations"], env);
        expect(show.code, show.output).to.equal(0);
        expect(show.stdout).to.contain("[X] 0002_q3c_index");
        expect(show.stdout).to.not.contain("[ ]");
        expect(await pg!.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'sky_skyposition_q3c_idx'")).to.equal("1");
    });

    it("created the superuser, who can log in with DJANGO_SUPERUSER_PASSWORD", async function () {
        expect(await pg!.query("SELECT username, is_superuser, is_staff, email FROM auth_user"))
            .to.equal(`admin|t|t|${env.DJANGO_SUPERUSER_EMAIL}`);
        const check = await runInApp(["python3", "manage.py", "shell", "-c", [
            "import os, sys",
            "from django.contrib.auth import authenticate",
            "sys.exit(0 if authenticate(username=os.environ['DJANGO_SUPERUSER_USERNAME'], password=os.environ['DJANGO_SUPERUSER_PASSWORD']) else 1)",
        ].join("\n")], env);
        expect(check.code, check.output).to.equal(0);
    });

    it("collected hashed, gzipped static files into DJANGO_STATIC_ROOT (sky/site.css, admin)", function () {
        const manifest = JSON.parse(fs.readFileSync(path.join(staticRoot, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
        const hashed = manifest.paths["sky/site.css"];
        expect(hashed).to.match(/^sky\/site\.[0-9a-f]{12}\.css$/);
        const original = fs.readFileSync(path.join(APP_DIR, "sky", "static", "sky", "site.css"));
        expect(fs.readFileSync(path.join(staticRoot, hashed)).equals(original), "hashed copy has the source's content").to.equal(true);
        expect(zlib.gunzipSync(fs.readFileSync(path.join(staticRoot, `${hashed}.gz`))).equals(original), ".gz of the hashed file").to.equal(true);
        expect(fs.existsSync(path.join(staticRoot, manifest.paths["admin/css/base.css"]))).to.equal(true);
    });

    it("run again: exits 0 and changes nothing (users, migrations, static files)", async function () {
        this.timeout(120_000);
        const before = await state();
        const second = await runInApp(command, env);
        expect(second.code, second.output).to.equal(0);
        expect(second.stdout).to.contain("release: superuser admin exists");
        expect(second.stdout).to.contain("No migrations to apply.");
        const afterwards = await state();
        expect(afterwards.users).to.equal("1");
        expect(afterwards).to.deep.equal(before);
    });

    it("without DJANGO_SUPERUSER_PASSWORD: exits 0 and skips createsuperuser", async function () {
        this.timeout(120_000);
        const { DJANGO_SUPERUSER_PASSWORD: _unused, ...withoutPassword } = env;
        const result = await runInApp(command, withoutPassword);
        expect(result.code, result.output).to.equal(0);
        expect(result.stdout).to.contain("no superuser password set, skipping createsuperuser");
    });

    it("with a wrong database password: exits non-zero", async function () {
        this.timeout(120_000);
        const wrong = appEnv(env, { POSTGRES_PASSWORD: "not-the-password" });
        const result = await runInApp(command, wrong);
        expect(result.code, result.output).to.not.equal(0);
        expect(result.output).to.contain('password authentication failed for user "app"');
        expect(result.stdout).to.not.contain("release: collectstatic");
    });
});
