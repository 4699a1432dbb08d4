import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Serves the built example page on 127.0.0.1, falling back to index.html like a SPA host. */
export async function serveStatic(root: string, port: number): Promise<Server> {
  const server = createServer(async (request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const relative = normalize(pathname).replace(/^(\.\.[/\\])+/, "");
    for (const candidate of [join(root, relative), join(root, "index.html")]) {
      try {
        const body = await readFile(candidate);
        response.writeHead(200, { "Content-Type": TYPES[extname(candidate)] ?? "application/octet-stream" });
        response.end(body);
        return;
      } catch {
        // Try the next candidate.
      }
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return server;
}
