import { defineConfig } from "tsup"

// One entry per public module (src/*.ts); src/internal stays private. `shims` gives the
// CommonJS build `import.meta.url`, which locates the native addon.
export default defineConfig({
  entry: ["src/*.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: true,
  treeshake: true,
  shims: true
})
