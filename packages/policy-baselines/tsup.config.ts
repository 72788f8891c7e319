import { defineConfig } from "tsup"

// One entry per public module (src/*.ts); src/internal stays private.
export default defineConfig({
  entry: ["src/*.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: true,
  treeshake: true
})
