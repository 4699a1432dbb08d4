import { defineConfig } from "tsup";

// Two builds so that only `./react` carries 'use client' (React Server Components treat the
// whole module as client code); the core stays importable from server code.
const shared = {
  format: ["esm", "cjs"] as ("esm" | "cjs")[],
  dts: true,
  sourcemap: true,
  target: "es2022",
  outDir: "dist",
  external: ["react", "openapi-fetch", "eventsource-parser"],
};

export default defineConfig([
  { ...shared, entry: { index: "src/index.ts" } },
  {
    ...shared,
    entry: { react: "src/react.tsx" },
    banner: { js: '"use client";' },
  },
]);
