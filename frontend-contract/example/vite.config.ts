import { fileURLToPath } from "node:url";

import { defineConfig, type Plugin } from "vite";

// @ts-expect-error a plain .mjs script, shared with run-tests.sh, without type declarations
import { sourceHash } from "../scripts/source-hash.mjs";

/** Stamps the build with the hash of its sources (see scripts/source-hash.mjs). */
function stampSourceHash(): Plugin {
  return {
    name: "stamp-source-hash",
    transformIndexHtml: () => [
      { tag: "meta", attrs: { name: "source-hash", content: (sourceHash as () => string)() }, injectTo: "head" },
    ],
  };
}

// No React plugin: the page needs no fast refresh, and Vite's own transform handles JSX.
// The build is committed: the backend serves it at `/` (DEBUG only) on machines without Node.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  build: { outDir: "dist", emptyOutDir: true },
  oxc: { jsx: { runtime: "automatic" } },
  plugins: [stampSourceHash()],
});
