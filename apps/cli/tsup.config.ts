import { defineConfig } from "tsup"

// The `kmm` executable: one ESM entry (src/bin.ts keeps its `#!/usr/bin/env node` line)
// and the bench worker, run in worker threads. Dependencies stay external (installed
// next to it), so plug-ins loaded by package name share the same @kmm/core and effect.
export default defineConfig({
  entry: { bin: "src/bin.ts", "bench-worker": "src/bench/worker.ts" },
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: true,
  treeshake: true
})
