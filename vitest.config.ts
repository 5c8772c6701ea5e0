import { defineConfig } from 'vitest/config';

// One root config; each package is a project. Kernel tests (*.kernel.test.ts) need root and
// real namespaces; they run in their own project, one file at a time, so that namespace and
// link names never race across workers.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'native/src/**/*.test.ts'],
          exclude: ['**/*.kernel.test.ts', '**/node_modules/**'],
          // Property tests run thousands of cases; on a loaded 2-core machine 5 s is too tight.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['packages/*/src/**/*.kernel.test.ts', 'native/src/**/*.kernel.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
