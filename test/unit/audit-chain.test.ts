/** The audit log's hash chain (core/audit-chain.ts): canonical hashing, and that verification names the first row that does not fit. */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AuditChainVerifier, auditRowHash, canonicalJson, chainAuditEntries, GENESIS_HASH, outcomeOfStatus, verifyAuditChain, type AuditRow, type NewAuditEntry } from "../../src/core/audit-chain.ts";

function entry(i: number, over: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    at: 1_760_000_000_000 + i,
    actor: { kind: "static-key", id: `key${i % 3}`, name: `admin key ${i % 3}`, role: "admin" },
    action: "POST /api/flow-runs/:id/cancel",
    targets: [`run-${i}`],
    status: 200,
    outcome: "success",
    clientIp: "127.0.0.1",
    requestId: `req-${i}`,
    detail: i % 2 ? { b: 1, a: [i, { z: true, y: null }] } : null,
    ...over,
  };
}

const chain = (n: number) => chainAuditEntries(null, Array.from({ length: n }, (_, i) => entry(i)));

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined, keeps arrays in order, no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
    expect(canonicalJson("é\n")).toBe(JSON.stringify("é\n"));
    expect(canonicalJson(null)).toBe("null");
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/no JSON form/);
  });
});

describe("auditRowHash", () => {
  it("is sha256 over the canonical JSON of every column but hash, previous hash included", () => {
    const [row] = chain(1);
    const { hash, ...rest } = row!;
    // Computed independently: keys in code-point order, no whitespace.
    const text =
      `{"action":${JSON.stringify(rest.action)},"actorId":"key0","actorKind":"static-key","actorName":"admin key 0","actorRole":"admin","at":${rest.at},` +
      `"clientIp":"127.0.0.1","detail":null,"outcome":"success","prevHash":"${GENESIS_HASH}","requestId":"req-0","seq":1,"status":200,"targets":${JSON.stringify(rest.targets)}}`;
    expect(hash).toBe(createHash("sha256").update(text).digest("hex"));
    expect(auditRowHash(rest)).toBe(hash);
  });

  it("stores targets and detail as canonical JSON text, so a row hashes the same whatever key order it was given", () => {
    const [a] = chainAuditEntries(null, [entry(1, { detail: { b: 1, a: 2 } })]);
    const [b] = chainAuditEntries(null, [entry(1, { detail: { a: 2, b: 1 } })]);
    expect(a!.detail).toBe('{"a":2,"b":1}');
    expect(a!.hash).toBe(b!.hash);
  });
});

describe("chainAuditEntries", () => {
  it("numbers rows from the head and links each to the one before", () => {
    const first = chain(3);
    expect(first.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(first[0]!.prevHash).toBe(GENESIS_HASH);
    expect(first[1]!.prevHash).toBe(first[0]!.hash);
    const more = chainAuditEntries(first[2]!, [entry(3)]);
    expect(more[0]).toMatchObject({ seq: 4, prevHash: first[2]!.hash });
    expect(verifyAuditChain([...first, ...more])).toEqual({ ok: true, checked: 4, broken: null });
  });
});

describe("verifyAuditChain", () => {
  it("an untouched chain verifies, and so does an empty one", () => {
    expect(verifyAuditChain(chain(20))).toEqual({ ok: true, checked: 20, broken: null });
    expect(verifyAuditChain([])).toEqual({ ok: true, checked: 0, broken: null });
  });

  it("an edited row is named by its own seq", () => {
    const rows = chain(10);
    rows[4] = { ...rows[4]!, actorName: "someone else" };
    const result = verifyAuditChain(rows);
    expect(result).toMatchObject({ ok: false, checked: 4, broken: { seq: 5 } });
    expect(result.broken!.reason).toMatch(/does not match its hash.*edited/);
  });

  it("an edited row whose hash was recomputed is caught at the next row's link", () => {
    const rows = chain(10);
    const { hash: _old, ...edited } = { ...rows[4]!, outcome: "denied" };
    rows[4] = { ...edited, hash: auditRowHash(edited) };
    expect(verifyAuditChain(rows).broken).toMatchObject({ seq: 6, reason: expect.stringMatching(/previous hash .* row 5/) });
  });

  it("a deleted row leaves a gap named at the row after it", () => {
    const rows = chain(10);
    rows.splice(6, 1);
    expect(verifyAuditChain(rows).broken).toMatchObject({ seq: 8, reason: expect.stringMatching(/row 7 is missing/) });
    const first = chain(3).slice(1);
    expect(verifyAuditChain(first).broken).toMatchObject({ seq: 2, reason: expect.stringMatching(/row 1 is missing/) });
  });

  it("pages: the verifier carries the last row from one page to the next", () => {
    const rows = chain(25);
    const verifier = new AuditChainVerifier();
    expect(verifier.check(rows.slice(0, 10))).toBeNull();
    expect(verifier.check(rows.slice(10, 20))).toBeNull();
    rows[22] = { ...rows[22]!, targets: '["other"]' };
    expect(verifier.check(rows.slice(20))).toMatchObject({ seq: 23 });
    expect(verifier.checked).toBe(22);
    expect(verifier.head).toEqual({ seq: 22, hash: rows[21]!.hash });
  });

  it("any change to any column of any row is found at that row (property)", () => {
    const columns = ["at", "actorKind", "actorId", "actorName", "actorRole", "action", "targets", "status", "outcome", "clientIp", "requestId", "detail"] as const;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.nat(), fc.constantFrom(...columns), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), (n, at, column, value) => {
        const rows = chain(n);
        const i = at % n;
        const original = rows[i]![column];
        fc.pre(value !== original);
        rows[i] = { ...rows[i]!, [column]: value } as AuditRow;
        expect(verifyAuditChain(rows).broken?.seq).toBe(i + 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe("outcomeOfStatus", () => {
  it("maps HTTP statuses to outcomes", () => {
    expect([200, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 503].map(outcomeOfStatus)).toEqual([
      "success", "success", "success", "success", "refused", "denied", "denied", "refused", "refused", "refused", "error", "error",
    ]);
  });
});
