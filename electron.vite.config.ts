import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'

// One build for three front ends: the Electron main process (index), the `hearth` CLI and the
// headless server (cli, which also runs `hearth serve`), the preload script and the renderer.
// The CLI bundle imports nothing from electron, so plain Node runs it.
export default defineConfig({
  main: {
    build: {
      // Pure-JS dependencies are bundled: loading zod's ~100 ES modules one by one cost the CLI
      // ~100 ms of start-up. koffi stays external (it loads a native module from disk).
      externalizeDeps: { exclude: ['zod', 'ws', '@huggingface/gguf'] },
      sourcemap: true,
      rolldownOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/main/cli.ts'),
          // The load lab's built-in loader: a program of its own (node-llama-cpp stays external).
          'lab-loader': resolve(__dirname, 'src/main/services/lab/builtin-loader.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        // A sandboxed preload cannot load ES modules.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    plugins: [react(), tailwindcss()],
    build: {
      rolldownOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
  },
})
