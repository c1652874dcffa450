/**
 * One jest run for the whole repo: ESM TypeScript through ts-jest (transpile only; `tsc -b`
 * type-checks before the tests run), one embedded PostgreSQL for the run (test/global-setup.ts)
 * with a migrated template database per service, cloned by each test file.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: {
    '^@hosting/shared$': '<rootDir>/shared/src/index.ts',
    '^@hosting/shared/testing$': '<rootDir>/shared/src/testing/index.ts',
    '^@hosting/project-service$': '<rootDir>/project-service/src/index.ts',
    '^@hosting/aggregator-service$': '<rootDir>/aggregator-service/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 30_000,
};
