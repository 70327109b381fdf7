// Lint: mostly the layer arrows of DESIGN.md, which the compiler cannot see.
import tseslint from 'typescript-eslint'

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'http', 'net', 'url', 'util', 'stream', 'worker_threads']

export default tseslint.config(
  { ignores: ['out/**', 'tmp/**', 'tmp-*/**', 'node_modules/**', 'build/**', 'test-results/**', 'playwright-report/**', 'src/helper/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // src/shared runs anywhere: no Node, no Electron, no DOM-side or backend code.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'src/shared must not use Node APIs (it runs in the renderer too).' },
          { group: ['electron'], message: 'only src/main/electron imports electron.' },
          { group: ['**/main/**', '**/renderer/**', '**/preload/**'], message: 'src/shared imports nothing from the other layers.' },
        ],
      }],
    },
  },
  {
    // The renderer talks to the backend only through the contract.
    files: ['src/renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/main/**', '**/src/main', '**/src/main/*'], message: 'the renderer never imports src/main; use the HearthApi contract.' },
          { group: ['electron', ...nodeBuiltins], message: 'the renderer has no Node or Electron; use window.hearth via the transport.' },
        ],
      }],
    },
  },
  {
    // Only src/main/electron (and main's desktop entry) may touch electron.
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/electron/**', 'src/main/index.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['electron'], message: 'only src/main/electron imports electron; keep the backend plain Node.' },
          { group: ['**/electron/*', './electron', '../electron'], message: 'nothing imports src/main/electron except the desktop entry.' },
          { group: ['**/renderer/**'], message: 'the backend never imports the renderer.' },
        ],
      }],
    },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/main/**', '**/renderer/**'], message: 'the preload exposes the contract channel only.' }],
      }],
    },
  },
)
