import { defineConfig } from "vitest/config"

// The tests spawn real processes and read the real kernel's interfaces; files run one
// at a time so the machine's two cores are not oversubscribed by children and scans.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false
  }
})
