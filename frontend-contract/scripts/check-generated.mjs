// Fails when src/schema.d.ts is not exactly what openapi-typescript makes of openapi.yaml.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "schema-check-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync("node_modules/.bin/openapi-typescript", ["openapi.yaml", "--output", fresh], { stdio: "inherit" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/schema.d.ts", "utf8")) {
    console.error("src/schema.d.ts is out of date with openapi.yaml: run `npm run generate` and commit it.");
    process.exitCode = 1;
  } else {
    console.log("src/schema.d.ts matches openapi.yaml");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
