/**
 * Webhooks on SQLite and PostgreSQL: an S3 "object created" notification becomes a
 * `data.arrived` event about the object's key; a template that does not parse is refused at
 * creation with its position; a body the template cannot turn into a valid event is a 400
 * naming the problem, with nothing stored; slugs are secrets (admin-only management, random by
 * default, no key to call one). The CLI manages them through the server.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventRecord } from "../../src/core/event-records.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { cli } from "../support/processes.ts";

/** Maps an S3 event notification to data.arrived, the object's key as the resource. */
const S3_TEMPLATE = `{
  "event": "data.arrived",
  "resource": { "id": Records[0].s3.object.key, "name": Records[0].s3.bucket.name & "/" & Records[0].s3.object.key },
  "payload": { "key": Records[0].s3.object.key, "size": Records[0].s3.object.size, "source": $headers."x-amz-sns-topic-arn", "tag": $query.tag }
}`;

const s3Notification = (key: string) => ({
  Records: [{ eventVersion: "2.1", eventSource: "aws:s3", eventName: "ObjectCreated:Put", s3: { bucket: { name: "landing" }, object: { key, size: 1024 } } }],
});

describe.each(DIALECTS)("webhooks on %s", (dialect) => {
  let h: ApiHarness;
  const admin = { authorization: "Bearer wh-admin" };
  beforeAll(async () => {
    h = await apiHarness(dialect, { apiKeys: ["admin:wh-admin", "worker:wh-worker"] });
  });
  afterAll(() => h.close());

  const events = async (resource: string) => (await h.store.listEvents({ involves: resource })).items;

  it("turns an S3 notification into data.arrived about the object's key, related to the webhook", async () => {
    const created = await h.call("POST", "/api/webhooks", { name: "s3-landing", template: S3_TEMPLATE }, admin);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { slug, id, url } = created.body as { slug: string; id: string; url: string };
    expect(slug).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(url).toBe(`/api/webhooks/${slug}`);
    // No API key: the slug is the secret.
    const call = await h.call("POST", `${url}?tag=nightly`, s3Notification("raw/2026/sales.csv"), { "x-amz-sns-topic-arn": "arn:aws:sns:eu:1:landing" });
    expect(call.status, JSON.stringify(call.body)).toBe(202);
    const [stored] = (await events("raw/2026/sales.csv")) as EventRecord[];
    expect(stored).toMatchObject({
      id: call.body.id,
      event: "data.arrived",
      resource: { id: "raw/2026/sales.csv", name: "landing/raw/2026/sales.csv" },
      related: [{ role: "webhook", id, name: "s3-landing" }],
      payload: { key: "raw/2026/sales.csv", size: 1024, source: "arn:aws:sns:eu:1:landing", tag: "nightly" },
    });
    expect((await h.store.listEvents({ related: id })).items).toHaveLength(1);
  });

  it("refuses a template that does not parse, naming the position; nothing is made", async () => {
    const res = await h.call("POST", "/api/webhooks", { slug: "broken-template-slug", template: '{ "event": "x.y", "resource": { "id": key + } }' }, admin);
    expectError(res, 400, /body\.template is not a valid JSONata expression at position \d+ \(near "}"\)/);
    expect((await h.call("GET", "/api/webhooks/broken-template-slug", undefined, admin)).status).toBe(404);
    expectError(await h.call("POST", "/api/webhooks", { slug: "short", template: "{}" }, admin), 400, /body\.slug must match pattern/);
  });

  it("answers a body the template cannot turn into a valid event with a 400 naming the problem, storing nothing", async () => {
    const slug = `strict-${dialect}-0123456789`;
    expect((await h.call("POST", "/api/webhooks", { slug, name: "strict", template: S3_TEMPLATE }, admin)).status).toBe(201);
    const before = (await h.store.listEvents({ limit: 1000 })).items.length;
    // No Records: the resource has no id.
    expectError(await h.call("POST", `/api/webhooks/${slug}`, { hello: "world" }), 400, /gave an invalid event for this body: event\.resource\.id is required/);
    // A key that is not a string.
    expectError(await h.call("POST", `/api/webhooks/${slug}`, { Records: [{ s3: { bucket: { name: "b" }, object: { key: 7, size: 1 } } }] }), 400, /event\.resource\.id must be string/);
    const named = `named-${dialect}-0123456789`;
    await h.call("POST", "/api/webhooks", { slug: named, template: '{ "event": name, "resource": { "id": "r" } }' }, admin);
    expectError(await h.call("POST", `/api/webhooks/${named}`, { other: 1 }), 400, /gave nothing for this body|event\.event is required/);
    expectError(await h.call("POST", `/api/webhooks/${named}`, { name: "baton.flow-run.Completed" }), 400, /names under "baton\." are Baton's own/);
    expectError(await h.call("POST", `/api/webhooks/${named}`, { name: "has spaces" }), 400, /event\.event must match pattern/);
    const failing = `failing-${dialect}-0123456789`;
    await h.call("POST", "/api/webhooks", { slug: failing, template: '{ "event": "x.y", "resource": { "id": $nope(1) } }' }, admin);
    expectError(await h.call("POST", `/api/webhooks/${failing}`, {}), 400, /failed on this request at position \d+ \(near "nope"\): Attempted to invoke a non-function \(T1006\)/);
    expect((await h.store.listEvents({ limit: 1000 })).items.length).toBe(before);
  });

  it("keeps slugs secret: admin keys only to manage them, 404 for unknown ones, deleted ones stop working", async () => {
    const slug = `secret-${dialect}-0123456789`;
    const worker = { authorization: "Bearer wh-worker" };
    expect((await h.call("POST", "/api/webhooks", { slug, template: S3_TEMPLATE }, worker)).status).toBe(403);
    expect((await h.call("GET", "/api/webhooks", undefined, worker)).status).toBe(403);
    expect((await h.call("POST", "/api/webhooks", { slug, template: S3_TEMPLATE }, admin)).status).toBe(201);
    expectError(await h.call("POST", "/api/webhooks", { slug, template: S3_TEMPLATE }, admin), 409, /body\.slug: a webhook with slug .* already exists/);
    expect((await h.call("GET", "/api/webhooks", undefined, admin)).body.items.map((w: { slug: string }) => w.slug)).toContain(slug);
    expect((await h.call("POST", "/api/webhooks/not-a-webhook-at-all-here", s3Notification("x"))).status).toBe(404);
    expect((await h.call("DELETE", `/api/webhooks/${slug}`, undefined, admin)).status).toBe(204);
    expect((await h.call("POST", `/api/webhooks/${slug}`, s3Notification("gone.csv"))).status).toBe(404);
    expect(await events("gone.csv")).toEqual([]);
  });

  it.runIf(dialect === "sqlite")("baton webhook create|ls|delete through the server", async () => {
    const base = await h.server.app.listen({ host: "127.0.0.1", port: 0 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-webhook-cli-"));
    const env = { BATON_HOME: dir, BATON_API_URL: `${base}/api`, BATON_API_KEY: "wh-admin" };
    try {
      const file = path.join(dir, "s3.jsonata");
      fs.writeFileSync(file, S3_TEMPLATE);
      const created = await cli(["webhook", "create", "--template", file, "--name", "from-cli", "--slug", "cli-made-webhook-slug", "--json"], env);
      expect(created.code, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ slug: "cli-made-webhook-slug", name: "from-cli" });
      const broken = await cli(["webhook", "create", "--template", '{"event": }'], env);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/template is not a valid JSONata expression at position/);
      const ls = await cli(["webhook", "ls"], env);
      expect(ls.stdout).toMatch(/cli-made-webhook-slug .*from-cli/);
      expect((await cli(["webhook", "delete", "cli-made-webhook-slug"], env)).code).toBe(0);
      const again = await cli(["webhook", "delete", "cli-made-webhook-slug"], env);
      expect(again.stderr).toMatch(/webhook "cli-made-webhook-slug" does not exist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
