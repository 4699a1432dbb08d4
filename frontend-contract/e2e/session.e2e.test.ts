import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { DEFAULT_STORAGE_KEY } from "../src";
import { serveStatic } from "./static-server";

/**
 * Drives the example page in headless Chromium against a running backend on another origin.
 * run-tests.sh starts the backend and passes E2E_API_URL and E2E_PAGE_PORT (the port the
 * backend's CORS_ALLOWED_ORIGINS names).
 */
const here = fileURLToPath(new URL(".", import.meta.url));
const artifacts = join(here, "artifacts");
const distDir = join(here, "..", "example", "dist");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the end-to-end test through run-tests.sh`);
  return value;
}

const apiUrl = required("E2E_API_URL").replace(/\/$/, "");
const pagePort = Number(required("E2E_PAGE_PORT"));
const pageOrigin = `http://127.0.0.1:${pagePort}`;
const pageUrl = `${pageOrigin}/?api=${encodeURIComponent(apiUrl)}`;
const sub = `dev|e2e-${Date.now()}`;

let server: Server;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
let step = 0;
const apiResponses: { url: string; status: number; allowOrigin: string | undefined }[] = [];
const consoleErrors: string[] = [];

async function screenshot(name: string): Promise<string> {
  step += 1;
  const path = join(artifacts, `${String(step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const byTestId = (id: string) => page.getByTestId(id);
const storedToken = () => page.evaluate((key) => sessionStorage.getItem(key), DEFAULT_STORAGE_KEY);

async function callWithToken(token: string): Promise<Response> {
  return fetch(`${apiUrl}/api/sessions/current/`, { headers: { Authorization: `Session ${token}` } });
}

beforeAll(async () => {
  if (!existsSync(join(distDir, "index.html"))) throw new Error(`${distDir} is missing: build the example first`);
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  server = await serveStatic(distDir, pagePort);
  userDataDir = mkdtempSync(join(tmpdir(), "session-e2e-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 900, height: 900 },
  });
  context.setDefaultTimeout(10_000);
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("response", (response) => {
    if (response.url().startsWith(`${apiUrl}/`)) {
      apiResponses.push({
        url: response.url(),
        status: response.status(),
        allowOrigin: response.headers()["access-control-allow-origin"],
      });
    }
  });
});

afterEach(async ({ task }) => {
  if (task.result?.state !== "fail" || !page) return;
  const path = await screenshot("failed");
  const alert = await byTestId("error").allTextContents();
  console.log(`screenshot of the failure: ${path}${alert.length ? `\npage error: ${alert.join(" ")}` : ""}`);
});

afterAll(async () => {
  if (consoleErrors.length) console.log("browser console errors:\n" + consoleErrors.join("\n"));
  await context?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe("example page against the running backend", () => {
  let sessionId: string;
  let firstToken: string;

  it("shows the signed-out page", async () => {
    await page.goto(pageUrl);
    await expect.poll(() => byTestId("status").textContent()).toBe("Signed out");
    expect(await page.getByRole("button", { name: "Sign in" }).isVisible()).toBe(true);
    await screenshot("signed-out");
  });

  it("signs in with a dev access token, cross-origin, and shows the new user", async () => {
    await page.locator('input[name="sub"]').fill(sub);
    await page.locator('input[name="email"]').fill("e2e@example.com");
    await page.locator('input[name="name"]').fill("E2E Tester");
    await page.getByRole("button", { name: "Sign in" }).click();

    await expect.poll(() => byTestId("status").textContent()).toBe("Signed in");
    expect(await byTestId("user").textContent()).toBe("E2E Tester <e2e@example.com>");
    expect(await byTestId("needs-onboarding").textContent()).toBe("true");
    expect(await byTestId("onboarding").isVisible()).toBe(true);
    sessionId = (await byTestId("session-id").textContent()) ?? "";
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    firstToken = (await storedToken()) ?? "";
    expect(firstToken).toMatch(/^sst_[A-Za-z0-9_-]{43}$/);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);

    const create = apiResponses.find((r) => r.url.includes("/api/sessions/create"));
    expect(create).toMatchObject({ status: 201, allowOrigin: pageOrigin });
    await screenshot("signed-in-needs-onboarding");
  });

  it("finishes onboarding", async () => {
    await page.getByRole("button", { name: "Finish onboarding" }).click();

    await expect.poll(() => byTestId("needs-onboarding").textContent()).toBe("false");
    expect(await byTestId("onboarding-completed").textContent()).toBe("true");
    expect(await byTestId("onboarding").count()).toBe(0);
    await screenshot("onboarded");
  });

  it("saves data in the session", async () => {
    await page.locator('input[name="note"]').fill("hello from chromium");
    await page.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => byTestId("data").textContent()).toBe('{"note":"hello from chromium"}');
    expect(await byTestId("error").count()).toBe(0);
    await screenshot("data-saved");
  });

  it("keeps the session across a reload", async () => {
    await page.reload();

    await expect.poll(() => byTestId("status").textContent()).toBe("Signed in");
    expect(await byTestId("session-id").textContent()).toBe(sessionId);
    expect(await byTestId("needs-onboarding").textContent()).toBe("false");
    expect(await byTestId("data").textContent()).toBe('{"note":"hello from chromium"}');
    const current = apiResponses.filter((r) => r.url.includes("/api/sessions/current"));
    expect(current.at(-1)).toMatchObject({ status: 200, allowOrigin: pageOrigin });
    await screenshot("after-reload");
  });

  it("refuses a write based on a stale ETag with 412", async () => {
    // Another tab changes the session behind this page's back.
    const token = (await storedToken()) ?? "";
    const elsewhere = await fetch(`${apiUrl}/api/sessions/current/`, {
      method: "PATCH",
      headers: { Authorization: `Session ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ data: { note: "changed in another tab" } }),
    });
    expect(elsewhere.status).toBe(200);

    await page.locator('input[name="note"]').fill("stale edit");
    await page.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => byTestId("error").textContent()).toMatch(/^412 /);
    expect(await byTestId("data").textContent()).toBe('{"note":"hello from chromium"}');
    const patch = apiResponses.filter((r) => r.url.includes("/api/sessions/current")).at(-1);
    expect(patch).toMatchObject({ status: 412, allowOrigin: pageOrigin });
    // Chromium logs every non-2xx answer; this one is expected, any other is not.
    expect(consoleErrors.splice(0)).toEqual([expect.stringContaining("status of 412")]);
    await screenshot("stale-write-refused");

    await page.reload();
    await expect.poll(() => byTestId("data").textContent()).toBe('{"note":"changed in another tab"}');
    expect(await byTestId("error").count()).toBe(0);
  });

  it("replaces a session revoked elsewhere with a new one, once, and keeps the user's state", async () => {
    const revoked = (await storedToken()) ?? "";
    const logoutElsewhere = await fetch(`${apiUrl}/api/sessions/current/`, {
      method: "DELETE",
      headers: { Authorization: `Session ${revoked}` },
    });
    expect(logoutElsewhere.status).toBe(204);
    const before = apiResponses.length;

    await page.locator('input[name="note"]').fill("after a revocation");
    await page.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => byTestId("data").textContent()).toBe('{"note":"after a revocation"}');
    const newId = (await byTestId("session-id").textContent()) ?? "";
    expect(newId).not.toBe(sessionId);
    expect(await byTestId("user").textContent()).toBe("E2E Tester <e2e@example.com>");
    // Onboarding belongs to the user, not to the session that recorded it.
    expect(await byTestId("needs-onboarding").textContent()).toBe("false");
    expect(await byTestId("error").count()).toBe(0);
    const calls = apiResponses.slice(before).map((r) => `${r.status} ${new URL(r.url).pathname}`);
    expect(calls).toEqual([
      "401 /api/sessions/current/",
      "200 /dev/access-token/",
      "201 /api/sessions/create/",
      "200 /api/sessions/current/",
    ]);
    expect(consoleErrors.splice(0)).toEqual([expect.stringContaining("status of 401")]);
    sessionId = newId;
    firstToken = (await storedToken()) ?? "";
    expect(firstToken).not.toBe(revoked);
    await screenshot("session-replaced");
  });

  it("rotates the token; the old one stops working", async () => {
    await page.getByRole("button", { name: "Refresh token" }).click();

    await expect.poll(storedToken).not.toBe(firstToken);
    const rotated = (await storedToken()) ?? "";
    expect(rotated).toMatch(/^sst_/);
    expect(await byTestId("session-id").textContent()).toBe(sessionId);
    expect((await callWithToken(firstToken)).status).toBe(401);
    expect((await callWithToken(rotated)).status).toBe(200);
    await screenshot("token-refreshed");
    firstToken = rotated;
  });

  it("logs out: the page is signed out and the token is dead", async () => {
    await page.getByRole("button", { name: "Log out" }).click();

    await expect.poll(() => byTestId("status").textContent()).toBe("Signed out");
    expect(await storedToken()).toBeNull();
    const after = await callWithToken(firstToken);
    expect(after.status).toBe(401);
    expect(after.headers.get("content-type")).toContain("application/problem+json");
    expect(((await after.json()) as { code: string }).code).toMatch(/^session_/);
    await screenshot("logged-out");

    await page.reload();
    await expect.poll(() => byTestId("status").textContent()).toBe("Signed out");
    expect(consoleErrors).toEqual([]);
  });
});
