import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

// No React plugin: the page needs no fast refresh, and Vite's own transform handles JSX.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  build: { outDir: "dist", emptyOutDir: true },
  oxc: { jsx: { runtime: "automatic" } },
});
