// node-llama-cpp's version, read from its package.json (the package does not export that file).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export function nodeLlamaCppVersion(from: string): string | null {
  try {
    const entry = createRequire(from).resolve('node-llama-cpp')
    const dir = entry.slice(0, entry.lastIndexOf('/node_modules/node-llama-cpp/') + '/node_modules/node-llama-cpp/'.length)
    return (JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { version: string }).version
  } catch {
    return null
  }
}
