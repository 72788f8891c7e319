import { defineConfig } from "vitest/config"

// The tests run the built binary (dist/bin.js) as a subprocess: `npm run build` first
// (nx runs it before `test`).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000
  }
})
