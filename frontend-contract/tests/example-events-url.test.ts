import { describe, expect, it } from "vitest";

import { eventsUrlFor } from "../example/events-url";

describe("the example page's event stream URL", () => {
  it("follows make run's events process on port 8001 when the page is on port 8000", () => {
    expect(eventsUrlFor("", "http://127.0.0.1:8000")).toBe("http://127.0.0.1:8001/api/sessions/events/");
    expect(eventsUrlFor("?x=1", "http://localhost:8000")).toBe("http://localhost:8001/api/sessions/events/");
  });

  it("has no stream on other ports unless told", () => {
    expect(eventsUrlFor("", "http://127.0.0.1:41234")).toBeUndefined();
    expect(eventsUrlFor("", "https://sessions.example.com")).toBeUndefined();
  });

  it("takes ?events=<url>, and ?events=off turns it off", () => {
    const url = "http://127.0.0.1:9001/api/sessions/events/";
    expect(eventsUrlFor(`?events=${encodeURIComponent(url)}`, "http://127.0.0.1:41234")).toBe(url);
    expect(eventsUrlFor("?events=off", "http://127.0.0.1:8000")).toBeUndefined();
  });
});
