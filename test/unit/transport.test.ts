/** Client transport rules (plain HTTP only to this machine unless allowed; extra CAs from BATON_CA_FILE) and the dashboard's CSP hashes. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ApiClient, InsecureTransportError, isLoopbackHost, trustedCas, untrustedServer, UntrustedServerError } from "../../src/client/api-client.ts";
import { BatonConfigError } from "../../src/core/errors.ts";
import { dashboardCsp, inlineScriptHashes } from "../../src/server/security-headers.ts";
import { loadSettings } from "../../src/config/settings.ts";

describe("plain HTTP", () => {
  it("is allowed to loopback addresses only", () => {
    for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "api.localhost"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["10.0.0.1", "example.com", "127.0.0.1.nip.io", "[::2]", "localhost.example.com"]) expect(isLoopbackHost(host), host).toBe(false);
  });

  it("to another machine is refused naming BATON_ALLOW_INSECURE, unless it is set", () => {
    expect(() => new ApiClient({ baseUrl: "http://10.1.2.3:4200" })).toThrow(InsecureTransportError);
    expect(() => new ApiClient({ baseUrl: "http://baton.example.com/api" })).toThrow(/plain http:\/\/ to another machine.*BATON_ALLOW_INSECURE=1/);
    new ApiClient({ baseUrl: "http://10.1.2.3:4200", allowInsecure: true }).close();
    new ApiClient({ baseUrl: "http://127.0.0.1:4200" }).close();
    new ApiClient({ baseUrl: "https://baton.example.com" }).close();
  });

  it("BATON_ALLOW_INSECURE and BATON_CA_FILE are settings (config.toml too), checked", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-settings-"));
    fs.writeFileSync(path.join(home, "config.toml"), 'allow_insecure = "1"\nca_file = "/etc/baton/ca.pem"\n');
    const settings = loadSettings({ BATON_HOME: home });
    expect(settings.allowInsecure).toEqual({ value: true, source: "config" });
    expect(settings.caFile).toEqual({ value: "/etc/baton/ca.pem", source: "config" });
    expect(loadSettings({ BATON_HOME: home, BATON_ALLOW_INSECURE: "0" }).allowInsecure.value).toBe(false);
    expect(() => loadSettings({ BATON_HOME: home, BATON_ALLOW_INSECURE: "yes" })).toThrow(/BATON_ALLOW_INSECURE must be 1 or 0/);
    fs.rmSync(home, { recursive: true, force: true });
  });
});

describe("BATON_CA_FILE", () => {
  it("adds its certificates to the system's; an unreadable or non-PEM file is a clear error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-ca-"));
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    fs.writeFileSync(path.join(dir, "ca.pem"), pem);
    fs.writeFileSync(path.join(dir, "junk.txt"), "not a certificate");
    expect(trustedCas(path.join(dir, "ca.pem"))!.ca.at(-1)).toBe(pem);
    expect(trustedCas(null)).toBeUndefined();
    expect(() => trustedCas(path.join(dir, "missing.pem"))).toThrow(BatonConfigError);
    expect(() => trustedCas(path.join(dir, "missing.pem"))).toThrow(/BATON_CA_FILE: cannot read .*missing\.pem/);
    expect(() => trustedCas(path.join(dir, "junk.txt"))).toThrow(/holds no PEM certificate/);
    expect(() => new ApiClient({ baseUrl: "https://127.0.0.1:1", caFile: path.join(dir, "junk.txt") })).toThrow(/BATON_CA_FILE/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a certificate error becomes an UntrustedServerError that says what to set; other errors are left alone", () => {
    const tlsError = Object.assign(new Error("self-signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
    const error = untrustedServer(tlsError, "https://baton.internal", null);
    expect(error).toBeInstanceOf(UntrustedServerError);
    expect(error!.message).toMatch(/does not trust \(SELF_SIGNED_CERT_IN_CHAIN.*set BATON_CA_FILE/);
    expect(untrustedServer(tlsError, "https://baton.internal", "/ca.pem")!.message).toMatch(/not signed by the CA in BATON_CA_FILE \(\/ca\.pem\)/);
    expect(untrustedServer(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), "https://x", null)).toBeNull();
  });
});

describe("the dashboard's Content-Security-Policy", () => {
  it("allows the built page's inline scripts by their sha256, and nothing inline else", () => {
    const html = `<html><head><script>var a = 1;</script><script type="module" src="/assets/x.js"></script></head><body><script>\n b()\n</script></body></html>`;
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    expect(inlineScriptHashes(html)).toEqual([hash("var a = 1;"), hash("\n b()\n")]);
    const csp = dashboardCsp(inlineScriptHashes(html));
    expect(csp).toContain(`script-src 'self' ${hash("var a = 1;")} ${hash("\n b()\n")}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  });
});
