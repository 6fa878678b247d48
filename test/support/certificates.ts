/** A private CA made with openssl, and a server certificate it signed for the given addresses. */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface Certificates {
  ca: string;
  cert: string;
  key: string;
}

/** Files in `dir`: the CA, and a certificate for 127.0.0.1, localhost and `ips`. */
export function makeCertificates(dir: string, ips: string[] = []): Certificates {
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "2", "-subj", "/CN=Baton test CA");
  openssl("req", ...ec, "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=localhost");
  const names = ["IP:127.0.0.1", "DNS:localhost", ...ips.map((ip) => `IP:${ip}`)].join(",");
  fs.writeFileSync(at("ext.cnf"), `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl("x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("server.pem"), "-days", "2", "-extfile", at("ext.cnf"));
  return { ca: at("ca.pem"), cert: at("server.pem"), key: at("server.key") };
}
