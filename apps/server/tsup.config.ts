import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { defineConfig } from "tsup"

const require = createRequire(import.meta.url)

// Two builds:
// - the server (ESM + .d.ts); dependencies stay external;
// - the dashboard (dist/public): the page, its script as one browser bundle with uPlot
//   inside (no CDN), and one stylesheet (uPlot's and the page's). uPlot's licence is
//   copied next to them.
export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm"],
    dts: true,
    sourcemap: true,
    // Both builds run at once: this one leaves dist/public to the other.
    clean: ["!public/**"],
    target: "node20",
    treeshake: true
  },
  {
    entry: { app: "src/dashboard/app.ts" },
    outDir: "dist/public",
    format: ["iife"],
    platform: "browser",
    target: "es2020",
    outExtension: () => ({ js: ".js" }),
    minify: true,
    sourcemap: false,
    dts: false,
    clean: true,
    noExternal: [/.*/],
    onSuccess: async () => {
      for (const file of ["index.html", "favicon.svg"]) fs.copyFileSync(`src/dashboard/${file}`, `dist/public/${file}`)
      fs.copyFileSync(path.join(path.dirname(require.resolve("uplot/package.json")), "LICENSE"), "dist/public/uPlot.LICENSE.txt")
    }
  }
])
