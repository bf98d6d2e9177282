// Builds one JavaScript workload as a `wasi:http/proxy` component:
//
//   node build.mjs <componentize.js> <workload.js> <out.wasm>
//
// <componentize.js> is componentize-js's entry module (the harness installs
// the version package-lock.json pins and passes its
// node_modules/@bytecodealliance/componentize-js/src/componentize.js).
// The source componentized is component.js with guest.js and the workload
// in place of its `/*WORKLOAD*/` marker; the world is ../../wit/world.wit
// (workloads/wit/, shared with the Python components).

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [componentizeJs, workloadJs, out] = process.argv.slice(2);
if (out === undefined) {
    console.error("usage: node build.mjs <componentize.js> <workload.js> <out.wasm>");
    process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const MARKER = "/*WORKLOAD*/";

const glue = await readFile(join(here, "component.js"), "utf8");
const guest = await readFile(join(here, "..", "guest.js"), "utf8");
const workload = await readFile(workloadJs, "utf8");
if (glue.split(MARKER).length !== 2) {
    throw new Error(`component.js must hold ${MARKER} exactly once`);
}
// A function, not a string, as the replacement: `$` in the sources stays as is.
const source = glue.replace(MARKER, () => `${guest}\n// ---- ${basename(workloadJs)} ----\n${workload}\n`);

const { componentize } = await import(pathToFileURL(componentizeJs).href);
const work = await mkdtemp(join(tmpdir(), "bb-componentize-"));
try {
    const sourcePath = join(work, basename(workloadJs));
    await writeFile(sourcePath, source);
    const { component } = await componentize({
        sourcePath,
        witPath: join(here, "..", "..", "wit"),
        worldName: "component",
        // Default features. The workloads use no `fetch`, but without the
        // `http` feature 0.23.0 leaves the world's incoming-handler
        // (0.2.12) unexported ("failed to find export of interface
        // wasi:http/incoming-handler@0.2.12"); exporting `incomingHandler`
        // already turns the fetch event off.
    });
    await writeFile(out, component);
} finally {
    await rm(work, { recursive: true, force: true });
}
