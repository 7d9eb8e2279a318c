// Drives the JSON edge through the client generated from its OpenAPI document: registers a
// member and records an order against a suite this test starts (bin/huiyuan on free ports with
// its own data directory), and checks that a typo in a field is refused by name.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import createClient from "openapi-fetch";
import type { paths } from "./huiyuan.js";

const adminKey = "hy_ts_client_admin_key_0123456789";
let server: ChildProcess | undefined;
let dataDir = "";
let baseUrl = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  const bin = process.env.HUIYUAN_BIN;
  assert.ok(bin, "HUIYUAN_BIN names the huiyuan binary");
  dataDir = mkdtempSync(join(tmpdir(), "huiyuan-ts-"));
  const [http, grpc, nats] = [await freePort(), await freePort(), await freePort()];
  baseUrl = `http://127.0.0.1:${http}`;
  server = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      HUIYUAN_HTTP_ADDR: `127.0.0.1:${http}`,
      HUIYUAN_GRPC_ADDR: `127.0.0.1:${grpc}`,
      HUIYUAN_NATS_ADDR: `127.0.0.1:${nats}`,
      HUIYUAN_DATA_DIR: dataDir,
      HUIYUAN_ADMIN_KEY: adminKey,
      HUIYUAN_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, "the suite did not become ready in 30 s");
    assert.equal(server.exitCode, null, "the suite exited");
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function client() {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${adminKey}` } });
}

test("registers a member and records an order", async () => {
  const api = client();
  const reg = await api.POST("/v1/members", {
    body: {
      requestId: "ts-reg-1",
      member: { displayName: "Wang Fang", phone: "13700137000", channel: "STORE", storeId: "store-1" },
      consents: [{ purpose: "MARKETING_SMS", granted: true }],
    },
  });
  assert.equal(reg.response.status, 200, JSON.stringify(reg.error));
  const member = reg.data!;
  assert.equal(member.channel, "STORE");
  assert.equal(member.status, "ACTIVE");
  assert.ok(member.id);

  const got = await api.GET("/v1/members/{id}", { params: { path: { id: member.id! } } });
  assert.equal(got.data?.phone, "+8613700137000");

  const order = await api.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": "ts-order-1" } },
    body: { order: { id: "ts-o-1", memberId: member.id!, amountMinor: "2500", currency: "CNY" } },
  });
  assert.equal(order.response.status, 200, JSON.stringify(order.error));
  assert.equal(order.data?.order?.id, "ts-o-1");
  assert.equal(order.data?.pointsEarned, "25");
});

test("a typo is refused with its reason and JSON path", async () => {
  const api = client();
  const body = { order: { id: "ts-o-2", memberID: "x", amountMinor: "100", currency: "CNY" } };
  // The generated types reject the typo at compile time; send it anyway.
  const res = await api.POST("/v1/orders", { body: body as unknown as { order: { id: string } } });
  assert.equal(res.response.status, 400);
  const details = (res.error?.details ?? []) as Array<{ reason?: string; fieldViolations?: Array<{ field?: string }> }>;
  assert.ok(details.some((d) => d.reason === "UNKNOWN_FIELD"), JSON.stringify(res.error));
  assert.ok(details.some((d) => d.fieldViolations?.some((v) => v.field === "order.memberID")), JSON.stringify(res.error));
});
