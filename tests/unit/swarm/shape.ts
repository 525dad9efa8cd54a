import { Registered } from "../../harness";

/**
 * The stack's own resources (components; not the targets' machines, firewalls and providers, which
 * change with the targets): by type, name and the input keys each sets, sorted. Enough to see a
 * resource added, removed or given a new kind of input.
 */
export function resourceShape(resources: Registered[]): string[] {
    return resources
        .filter((r) => /^(docker:index\/|command:|random:|tls:|webstack:index:)/.test(r.type) && !/-ready$/.test(r.name))
        .map((r) => `${r.type} ${r.name} [${Object.keys(r.inputs).filter((k) => r.inputs[k] !== undefined).sort().join(",")}]`)
        .sort();
}
