// The hash of everything the example page is built from, embedded in the build so a test can
// tell a committed build from one older than its sources. backend/tests/test_example_page.py
// recomputes it the same way: for each file, sorted by path relative to frontend-contract/,
// "<path>\0<sha256 of its bytes>\n", all hashed with SHA-256. Declaration files (`.d.ts`, the
// generated schema) are left out: types never change the bundle.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const INPUTS = ["src", "example", "package-lock.json"];
const SKIP = new Set([join("example", "dist")]);

function files(path) {
  const rel = relative(root, path);
  if (SKIP.has(rel)) return [];
  try {
    return readdirSync(path, { withFileTypes: true }).flatMap((entry) => files(join(path, entry.name)));
  } catch {
    return rel.endsWith(".d.ts") ? [] : [rel.split(sep).join("/")];
  }
}

export function sourceHash() {
  const digest = createHash("sha256");
  for (const path of INPUTS.flatMap((input) => files(join(root, input))).sort()) {
    const content = createHash("sha256").update(readFileSync(join(root, path))).digest("hex");
    digest.update(`${path}\0${content}\n`);
  }
  return digest.digest("hex");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `node scripts/source-hash.mjs --check`: fails when example/dist was built from other sources.
  const built = readFileSync(join(root, "example", "dist", "index.html"), "utf8");
  const embedded = /<meta name="source-hash" content="([0-9a-f]{64})"/.exec(built)?.[1];
  const fresh = sourceHash();
  if (process.argv.includes("--check") && embedded !== fresh) {
    console.error(`example/dist is older than its sources (built from ${embedded ?? "nothing"}, sources are ${fresh}): run \`npm run example:build\` and commit example/dist.`);
    process.exitCode = 1;
  } else {
    console.log(fresh);
  }
}
