import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that read /proc and the page cache measure the machine; running files one after
    // another keeps a warm in one test from disturbing a residency check in another.
    fileParallelism: false,
  },
})
