import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "./paths";

/**
 * Why a build context cannot be used, or undefined. Any directory holding the Dockerfile may be
 * one (`../my-app` beside the infrastructure, in a monorepo), except one that holds the operator's
 * home: the whole context is sent to the Docker engine, SSH keys and cloud credentials with it.
 */
export function buildContextProblem(context: string, dockerfile: string, root = projectRoot(), home = os.homedir()): string | undefined {
    const dir = path.resolve(root, context);
    const holds = (outer: string, inner: string) => inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
    if (holds(dir, path.resolve(home)) || dir === path.parse(dir).root) {
        return `${JSON.stringify(context)} is ${dir}, which holds your home directory ${home}; the whole build context goes to the ` +
            "Docker engine, SSH keys and cloud credentials with it. Point it at the app's own directory";
    }
    if (!fs.existsSync(path.join(dir, dockerfile))) {
        return `expected a directory holding ${dockerfile}, but ${path.join(context, dockerfile)} does not exist`;
    }
    return undefined;
}
