import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

// The dashboard is built into dist/ui and served by `baton server start` at /.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)), emptyOutDir: true },
  server: { proxy: { "/api": "http://127.0.0.1:4200" } },
});
