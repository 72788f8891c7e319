import { defineConfig } from "tsup"

// The runner is an executable, not a library: one ESM entry, no declarations.
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The packages under test are loaded from their own builds, as users load them.
  external: [/^@kmm\//, /^effect/]
})
