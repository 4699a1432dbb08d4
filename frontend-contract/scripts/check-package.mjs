// Packs the package as `npm publish` would, installs the tarball into a scratch project and
// checks it from the outside: both entry points type-check from ESM and CommonJS (through the
// `exports` map's `types` conditions) and load in Node, `./react` starts with 'use client',
// and the tarball holds the build, not the sources.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const version = (name) => JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
function check(condition, message) {
  if (!condition) throw new Error(message);
}

const scratch = mkdtempSync(join(tmpdir(), "session-client-pack-"));
try {
  // The build first, on its own: prepack's output would end up in pack's --json.
  execFileSync("npm", ["run", "--silent", "build"], { cwd: here, stdio: ["ignore", "ignore", "inherit"] });
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], here));
  const files = packed.files.map((file) => file.path);
  console.log(`packed ${packed.filename}: ${files.length} files, ${packed.size} bytes`);
  for (const file of ["package.json", "README.md", "dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/react.js", "dist/react.cjs", "dist/react.d.ts"]) {
    check(files.includes(file), `the tarball lacks ${file}`);
  }
  check(!files.some((file) => /^(src|tests|e2e|example)\//.test(file)), `the tarball carries sources: ${files.join(", ")}`);

  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
    join(scratch, packed.filename), `react@${version("react")}`, `@types/react@${version("@types/react")}`], scratch);

  const uses = `
const client = createSessionClient({ baseUrl: "https://sessions.example.com", getAccessToken: async () => "at", renew: (e) => e.code === "session_expired" });
const host = createClient<paths>({ baseUrl: "https://api.example.com" });
host.use(sessionMiddleware(client));
export const element = createElement(SessionProvider, { client, autoCreate: true }, null);
export function Probe() {
  const { status, isFetching, session }: UseSession = useSession();
  const { sessions, revokeOthers } = useSessions();
  const label: "loading" | "authenticated" | "unauthenticated" = status;
  return [label, isFetching, session?.user.email, sessions?.length, revokeOthers] as const;
}
// @ts-expect-error: the types are real, not \`any\`
createSessionClient({ baseUrl: 42 });
`;
  writeFileSync(join(scratch, "esm.mts"), `import createClient from "openapi-fetch";
import { createElement } from "react";
import { createSessionClient, sessionMiddleware, type paths } from "@session-service/client";
import { SessionProvider, useSession, useSessions, type UseSession } from "@session-service/client/react";
${uses}`);
  writeFileSync(join(scratch, "cjs.cts"), `import createClient = require("openapi-fetch");
import { createElement } from "react";
import { createSessionClient, sessionMiddleware, type paths } from "@session-service/client";
import { SessionProvider, useSession, useSessions, type UseSession } from "@session-service/client/react";
${uses}`);
  writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify({
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ["esm.mts", "cjs.cts"],
  }));
  run(join(here, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], scratch);
  console.log("both entry points type-check from ESM and CommonJS");

  const esm = run("node", ["--input-type=module", "-e", `
import { createSessionClient, sessionMiddleware } from "@session-service/client";
import { SessionProvider, useSessions } from "@session-service/client/react";
console.log([typeof createSessionClient, typeof sessionMiddleware, typeof SessionProvider, typeof useSessions].join(","));`], scratch);
  const cjs = run("node", ["-e", `
const { createSessionClient, sessionMiddleware } = require("@session-service/client");
const { SessionProvider, useSessions } = require("@session-service/client/react");
console.log([typeof createSessionClient, typeof sessionMiddleware, typeof SessionProvider, typeof useSessions].join(","));`], scratch);
  check(esm.trim() === "function,function,function,function", `ESM import gave ${esm}`);
  check(cjs.trim() === "function,function,function,function", `CommonJS require gave ${cjs}`);
  const installed = join(scratch, "node_modules", "@session-service", "client", "dist");
  for (const file of ["react.js", "react.cjs"]) {
    check(readFileSync(join(installed, file), "utf8").startsWith('"use client";'), `dist/${file} does not start with 'use client'`);
  }
  check(!readFileSync(join(installed, "index.js"), "utf8").includes('"use client"'), "the core entry is marked 'use client'");
  console.log("both entry points load from ESM and CommonJS; only ./react is 'use client'");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
