import { defineConfig } from "vitest/config"

// The API and browser tests serve the built dashboard (dist/public): `npm run build`
// first (nx runs it before `test`).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
