import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { DEFAULT_STORAGE_KEY } from "../src";

/**
 * Drives the example page in headless Chromium against the running backend, which serves it
 * at `/` on its own origin. run-tests.sh starts the backend and passes E2E_API_URL. Each
 * browser context is one device; two pages of one context are two tabs of one browser.
 */
const here = fileURLToPath(new URL(".", import.meta.url));
const artifacts = join(here, "artifacts");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the end-to-end tests through run-tests.sh`);
  return value;
}

const apiUrl = required("E2E_API_URL").replace(/\/$/, "");
const pageUrl = `${apiUrl}/`;
// The events process run-tests.sh starts beside the backend (uvicorn, as make events).
const eventsUrl = required("E2E_EVENTS_URL");
const sub = `dev|e2e-${Date.now()}`;

interface Call {
  method: string;
  path: string;
  status: number;
  ifMatch: string | undefined;
  etag: string | undefined;
}

let browser: Browser;
let step = 0;
let current: Page | undefined;
const calls = new Map<Page, Call[]>();
const pageErrors: string[] = [];

async function screenshot(page: Page, name: string): Promise<void> {
  step += 1;
  await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
}

async function device(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  context.setDefaultTimeout(10_000);
  return context;
}

async function open(context: BrowserContext, url = pageUrl): Promise<Page> {
  const page = await context.newPage();
  const log: Call[] = [];
  calls.set(page, log);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("response", async (response) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith("/api/") && !url.pathname.startsWith("/dev/")) return;
    const request = response.request();
    log.push({
      method: request.method(),
      path: url.pathname,
      status: response.status(),
      ifMatch: (await request.allHeaders())["if-match"],
      etag: response.headers()["etag"],
    });
  });
  await page.goto(url);
  current = page;
  return page;
}

const status = (page: Page) => page.getByTestId("status").textContent();
const storedToken = (page: Page) => page.evaluate((key) => localStorage.getItem(key), DEFAULT_STORAGE_KEY);
const focus = (page: Page) => page.evaluate(() => window.dispatchEvent(new Event("focus")));
const creates = (page: Page) => calls.get(page)!.filter((c) => c.path === "/api/sessions/create/").length;

async function callWithToken(token: string): Promise<Response> {
  return fetch(`${apiUrl}/api/sessions/current/`, { headers: { Authorization: `Session ${token}` } });
}

async function signIn(page: Page, name = "E2E Tester", subject = sub): Promise<void> {
  await expect.poll(() => status(page)).toBe("Signed out");
  await page.getByLabel("Subject").fill(subject);
  await page.getByLabel("Email").fill("e2e@example.com");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => status(page)).toBe("Signed in");
}

async function openSessions(page: Page): Promise<void> {
  await page.getByRole("link", { name: "Your sessions" }).click();
  await expect.poll(() => page.getByTestId("session-row").count()).toBeGreaterThan(0);
}

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
});

afterEach(async ({ task }) => {
  if (task.result?.state !== "fail" || !current) return;
  await screenshot(current, "failed");
  const alert = await current.getByRole("alert").allTextContents();
  console.log(`screenshot of the failure in ${artifacts}${alert.length ? `\npage error: ${alert.join(" ")}` : ""}`);
});

afterAll(async () => {
  await browser?.close();
  console.log(`screenshots: ${readdirSync(artifacts).join(", ")}`);
});

describe("one device", () => {
  let page: Page;
  let sessionId: string;

  it("serves the page at / and shows it signed out", async () => {
    page = await open(await device());
    await expect.poll(() => status(page)).toBe("Signed out");
    expect(await page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    await screenshot(page, "signed-out");
  });

  it("signs in with a dev access token and shows the new user", async () => {
    await signIn(page);

    expect(await page.getByTestId("user").textContent()).toBe("E2E Tester <e2e@example.com>");
    expect(await page.getByTestId("needs-onboarding").textContent()).toBe("true");
    sessionId = (await page.getByTestId("session-id").textContent()) ?? "";
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await storedToken(page)).toMatch(/^sst_[A-Za-z0-9_-]{43}$/);
    // Focus follows the section that replaced the form.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Your session");
    await screenshot(page, "signed-in-needs-onboarding");
  });

  it("finishes onboarding", async () => {
    await page.getByRole("button", { name: "Finish onboarding" }).click();

    await expect.poll(() => page.getByTestId("needs-onboarding").textContent()).toBe("false");
    expect(await page.getByTestId("onboarding").count()).toBe(0);
    expect(calls.get(page)!.find((c) => c.method === "PATCH")?.status).toBe(200);
    await screenshot(page, "onboarded");
  });

  it("keeps the session across a reload", async () => {
    await page.getByLabel("Note").fill("hello from chromium");
    await page.getByRole("button", { name: "Save note" }).click();
    await expect.poll(() => page.getByTestId("data").textContent()).toBe('{"note":"hello from chromium"}');

    await page.reload();

    await expect.poll(() => status(page)).toBe("Signed in");
    expect(await page.getByTestId("session-id").textContent()).toBe(sessionId);
    expect(await page.getByTestId("data").textContent()).toBe('{"note":"hello from chromium"}');
  });

  it("refuses a write based on a stale ETag with 412", async () => {
    const elsewhere = await fetch(`${apiUrl}/api/sessions/current/`, {
      method: "PATCH",
      headers: { Authorization: `Session ${await storedToken(page)}`, "Content-Type": "application/json" },
      body: JSON.stringify({ data: { note: "changed elsewhere" } }),
    });
    expect(elsewhere.status).toBe(200);

    await page.getByLabel("Note").fill("stale edit");
    await page.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => page.getByTestId("error").textContent()).toMatch(/^412 /);
    expect(await page.getByTestId("data").textContent()).toBe('{"note":"hello from chromium"}');
    await screenshot(page, "stale-write-refused");
  });

  it("rotates the token; the old one stops working", async () => {
    const before = (await storedToken(page)) ?? "";

    await page.getByRole("button", { name: "Refresh token" }).click();

    await expect.poll(() => storedToken(page)).not.toBe(before);
    expect(await page.getByTestId("session-id").textContent()).toBe(sessionId);
    expect((await callWithToken(before)).status).toBe(401);
    expect((await callWithToken((await storedToken(page))!)).status).toBe(200);
  });

  it("a session revoked elsewhere is final: signed out on the next call, no new session", async () => {
    const token = (await storedToken(page))!;
    expect((await fetch(`${apiUrl}/api/sessions/current/`, { method: "DELETE", headers: { Authorization: `Session ${token}` } })).status).toBe(204);
    const before = creates(page);

    await page.getByLabel("Note").fill("after a revocation");
    await page.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => status(page)).toBe("Signed out");
    expect(await page.getByTestId("error").textContent()).toMatch(/^401 session_revoked/);
    expect(await storedToken(page)).toBeNull();
    await page.reload();
    await expect.poll(() => status(page)).toBe("Signed out");
    expect(creates(page)).toBe(before);
    await screenshot(page, "revoked-elsewhere-stays-signed-out");
    await page.context().close();
  });
});

describe("two devices (two browser contexts)", () => {
  let laptop: Page;
  let phone: Page;

  it("both sign in; the sessions page lists both devices, this one marked", async () => {
    laptop = await open(await device());
    phone = await open(await device());
    await signIn(laptop, "Laptop user");
    await signIn(phone, "Phone user");

    await openSessions(laptop);
    const rows = laptop.getByTestId("session-row");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await laptop.locator('[data-testid="session-row"][data-current="true"]').textContent()).toContain("(this device)");
    expect(await laptop.getByRole("button", { name: /^Sign out .*last active/ }).count()).toBe(1);
    expect(await laptop.getByRole("heading", { name: "Your sessions" }).isVisible()).toBe(true);
    await screenshot(laptop, "sessions-two-devices");
  });

  it("'sign out all other devices' signs the phone out on its next focus, for good", async () => {
    const phoneToken = (await storedToken(phone))!;

    await laptop.getByRole("button", { name: "Sign out all other devices" }).click();

    await expect.poll(() => laptop.getByTestId("session-row").count()).toBe(1);
    expect(await laptop.getByRole("button", { name: "Sign out all other devices" }).isDisabled()).toBe(true);
    await screenshot(laptop, "others-signed-out");
    expect((await callWithToken(phoneToken)).status).toBe(401);

    const before = creates(phone);
    await expect
      .poll(async () => {
        await focus(phone);
        return status(phone);
      })
      .toBe("Signed out");
    expect(await phone.getByTestId("error").textContent()).toMatch(/^401 session_revoked/);
    await screenshot(phone, "phone-signed-out-on-focus");
    await focus(phone);
    await phone.reload();
    await expect.poll(() => status(phone)).toBe("Signed out");
    expect(creates(phone)).toBe(before);
    expect(await storedToken(phone)).toBeNull();
  });

  it("revokes one device from the sessions page", async () => {
    await signIn(phone, "Phone user");
    await laptop.getByRole("button", { name: "Reload list" }).click();
    await expect.poll(() => laptop.getByTestId("session-row").count()).toBe(2);

    await laptop.getByRole("button", { name: /^Sign out .*last active/ }).click();

    await expect.poll(() => laptop.getByTestId("session-row").count()).toBe(1);
    expect(await status(laptop)).toBe("Signed in");
    // The row and its button are gone: the focus went back to the section's heading.
    expect(await laptop.evaluate(() => document.activeElement?.textContent)).toBe("Your sessions");
    await expect
      .poll(async () => {
        await focus(phone);
        return status(phone);
      })
      .toBe("Signed out");
    await screenshot(laptop, "one-device-revoked");
    await laptop.context().close();
    await phone.context().close();
  });
});

describe("two tabs (two pages of one browser context)", () => {
  let first: Page;
  let second: Page;

  it("a second tab is signed in with the first tab's session", async () => {
    const context = await device();
    first = await open(context);
    await signIn(first);
    second = await open(context);

    await expect.poll(() => status(second)).toBe("Signed in");
    expect(await second.getByTestId("session-id").textContent()).toBe(await first.getByTestId("session-id").textContent());
  });

  it("a rotation in one tab leaves the other working", async () => {
    const before = await storedToken(first);
    await first.getByRole("button", { name: "Refresh token" }).click();
    await expect.poll(() => storedToken(first)).not.toBe(before);

    await second.getByLabel("Note").fill("from the second tab");
    await second.getByRole("button", { name: "Save note" }).click();

    await expect.poll(() => second.getByTestId("data").textContent()).toBe('{"note":"from the second tab"}');
    // The change reaches the first tab too, without a reload.
    await expect.poll(() => first.getByTestId("data").textContent()).toBe('{"note":"from the second tab"}');
    expect(await second.getByTestId("error").count()).toBe(0);
    await screenshot(first, "tab-one-sees-tab-two-change");
  });

  it("both tabs refreshing at once rotate one after the other; both stay signed in", async () => {
    const before = await storedToken(first);

    await Promise.all([
      first.getByRole("button", { name: "Refresh token" }).click(),
      second.getByRole("button", { name: "Refresh token" }).click(),
    ]);

    const refreshes = () => [...calls.get(first)!, ...calls.get(second)!].filter((c) => c.path === "/api/sessions/refresh/");
    await expect.poll(() => refreshes().length).toBe(3);
    expect(refreshes().map((c) => c.status)).toEqual([200, 200, 200]);
    const token = (await storedToken(first))!;
    expect(token).not.toBe(before);
    expect(await storedToken(second)).toBe(token);
    expect((await callWithToken(token)).status).toBe(200);
    expect(await status(first)).toBe("Signed in");
    expect(await status(second)).toBe("Signed in");
  });

  it("logout in one tab signs the other out at once", async () => {
    const token = (await storedToken(second))!;

    await second.getByRole("button", { name: "Log out" }).click();

    await expect.poll(() => status(second)).toBe("Signed out");
    await expect.poll(() => status(first)).toBe("Signed out");
    expect((await callWithToken(token)).status).toBe(401);
    await screenshot(first, "tab-signed-out-by-other-tab");
    expect(pageErrors).toEqual([]);
  });
});

describe("ETags from the first write on", () => {
  it("create and refresh answer with the session's ETag, and the first write sends it as If-Match", async () => {
    const page = await open(await device());
    // A new user, so that onboarding is still to do: it belongs to the user, not the session.
    await signIn(page, "ETag Tester", `${sub}-etag`);
    const log = calls.get(page)!;
    const create = log.find((c) => c.path === "/api/sessions/create/");
    expect(create?.etag).toMatch(/^(W\/)?"/);

    await page.getByRole("button", { name: "Finish onboarding" }).click();
    await expect.poll(() => page.getByTestId("needs-onboarding").textContent()).toBe("false");
    const patch = log.find((c) => c.method === "PATCH");
    expect(patch).toMatchObject({ status: 200, ifMatch: create?.etag });

    await page.getByRole("button", { name: "Refresh token" }).click();
    await expect.poll(() => log.filter((c) => c.path === "/api/sessions/refresh/").length).toBe(1);
    const refresh = log.find((c) => c.path === "/api/sessions/refresh/");
    const current = await callWithToken((await storedToken(page))!);
    expect(refresh?.etag).toBe(current.headers.get("ETag"));
    await page.context().close();
  });
});

describe("live: the event stream (two browser contexts)", () => {
  it("'sign out all other devices' signs the live page out within a second, without focus or reload", async () => {
    const subject = `${sub}-live`;
    const contextA = await device();
    // Every focus of the window and visibility change page A sees, dispatched by anyone (the
    // events the provider refetches on; the page's own focus moves between elements are not).
    await contextA.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { focusEvents: string[] }).focusEvents = seen;
      window.addEventListener("focus", (event) => event.target === window && seen.push("focus"), true);
      document.addEventListener("visibilitychange", () => seen.push(`visibility:${document.visibilityState}`), true);
    });
    const a = await open(contextA, `${pageUrl}?events=${encodeURIComponent(eventsUrl)}`);
    expect(await a.getByTestId("events").textContent()).toBe(`Events: ${eventsUrl}`);
    await signIn(a, "Live user", subject);
    const streams = () => calls.get(a)!.filter((c) => c.path === "/api/sessions/events/");
    // The stream is open (its headers arrived with 200).
    await expect.poll(() => streams().map((c) => c.status)).toEqual([200]);
    const tokenA = (await storedToken(a))!;

    // Device B, opened after A and brought to the front: A stays in the background.
    const b = await open(await device());
    expect(await b.getByTestId("events").textContent()).toMatch(/^Events: off/);
    await signIn(b, "Live user", subject);
    await openSessions(b);
    await expect.poll(() => b.getByTestId("session-row").count()).toBe(2);

    const callsBefore = calls.get(a)!.length;
    const seenBefore = await a.evaluate(() => (window as unknown as { focusEvents: string[] }).focusEvents.length);
    const started = Date.now();
    await b.getByRole("button", { name: "Sign out all other devices" }).click();
    await expect.poll(() => status(a), { timeout: 1_500, interval: 25 }).toBe("Signed out");
    const elapsed = Date.now() - started;
    current = a;
    await screenshot(a, "live-page-signed-out-by-the-stream");

    // No focus or visibility event reached A, and A made no call of its own: the stream did it.
    expect(await a.evaluate(() => (window as unknown as { focusEvents: string[] }).focusEvents.slice())).toHaveLength(seenBefore);
    expect(calls.get(a)!.slice(callsBefore)).toEqual([]);
    expect(elapsed).toBeLessThan(1_500);
    expect((await callWithToken(tokenA)).status).toBe(401);
    await expect.poll(() => b.getByTestId("session-row").count()).toBe(1);
    expect(await status(b)).toBe("Signed in");
    // Revoked is final: no new session, nothing stored, still signed out after a while.
    expect(creates(a)).toBe(1);
    expect(await storedToken(a)).toBeNull();
    await a.waitForTimeout(500);
    expect(await status(a)).toBe("Signed out");
    expect(pageErrors).toEqual([]);
    await contextA.close();
    await b.context().close();
  });
});
