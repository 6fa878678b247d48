import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const OUT = fileURLToPath(new URL("../dist/ui", import.meta.url));

/**
 * Writes brotli and gzip copies beside every script and stylesheet of the build: the server
 * (@fastify/static with preCompressed) sends the one the browser accepts, with no compression
 * work per request.
 */
function precompress(): Plugin {
  return {
    name: "baton-precompress",
    apply: "build",
    closeBundle() {
      const assets = path.join(OUT, "assets");
      for (const name of fs.readdirSync(assets)) {
        if (!/\.(js|css|svg)$/.test(name)) continue;
        const file = path.join(assets, name);
        const data = fs.readFileSync(file);
        if (data.length < 1024) continue;
        fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
        fs.writeFileSync(`${file}.br`, zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

// The dashboard is built into dist/ui and served by `baton server start` at /.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [react(), precompress()],
  build: { outDir: OUT, emptyOutDir: true },
  worker: { format: "es" },
  server: { proxy: { "/api": "http://127.0.0.1:4200" } },
});
