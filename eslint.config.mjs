import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'python/**', 'bench/results*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Zones (in the style of vscode-jupyter's): the engine is the core and imports neither the webview nor the
  // extension; the webview reaches the engine only through the protocol (the typed, validated messages);
  // the extension reaches the webview only through its message module (and the page shell it serves).
  // Neither the engine nor the webview may touch `vscode`: one runs in a CLI, the other in a browser.
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/engine must not import vscode.' }],
        patterns: [
          { group: ['**/extension/**', '../extension/*'], message: 'src/engine must not import from src/extension.' },
          { group: ['**/webview/**', '../webview/*'], message: 'src/engine must not import from src/webview.' },
        ],
      }],
    },
  },
  {
    files: ['src/webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/webview must not import vscode.' }],
        patterns: [
          { group: ['**/extension/**', '../extension/*'], message: 'src/webview must not import from src/extension.' },
          // Besides the protocol, only the events' vocabulary (how a fix, a layer and a script override read),
          // modules that import nothing but the protocol.
          { group: ['**/engine/**', '!**/engine/protocol', '!**/engine/fixWording', '!**/engine/layerLabel', '!**/engine/scriptKeys'], message: 'src/webview reaches the engine only through src/engine/protocol.' },
        ],
      }],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/webview/**', '!**/webview/messages', '!**/webview/html'], message: 'src/extension reaches the webview only through src/webview/messages (and the page shell, src/webview/html).' },
        ],
      }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', 'window', 'document'],
    },
  },
  {
    files: ['**/*.mjs', 'scripts/**/*.js', 'bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', __dirname: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
