// Which model runtime a process is, from its name and command line, and the llama.cpp flags that
// decide how it reads a model (--no-mmap, --mlock, --direct-io, --load-mode).
import { basename } from 'node:path'

export type RuntimeKind = 'llama.cpp' | 'ollama' | 'lmstudio' | 'vllm' | 'koboldcpp' | 'textgen' | 'python'

export interface Runtime {
  kind: RuntimeKind
  /** For people: "llama-server", "Ollama runner", "LM Studio", "vLLM" … */
  label: string
}

const isPython = (s: string) => /^python[0-9.]*$/.test(s)

export function classifyProcess(comm: string, argv: readonly string[]): Runtime | null {
  const arg0 = basename(argv[0] ?? comm)
  const joined = argv.join(' ')
  if (/^VLLM/i.test(comm) || argv.some((a) => /(^|[/.])vllm([./]|$)/.test(a) || a === 'vllm')) return { kind: 'vllm', label: 'vLLM' }
  if (/koboldcpp/i.test(arg0) || argv.slice(0, 2).some((a) => /koboldcpp/i.test(basename(a)))) return { kind: 'koboldcpp', label: 'koboldcpp' }
  if (/text-generation-webui|oobabooga/i.test(joined)) return { kind: 'textgen', label: 'text-generation-webui' }
  if (/^llama-[a-z-]+$/.test(arg0) || /^llama-[a-z-]+$/.test(comm)) return { kind: 'llama.cpp', label: /^llama-/.test(arg0) ? arg0 : comm }
  if (arg0 === 'ollama_llama_server' || comm === 'ollama_llama_se') return { kind: 'ollama', label: 'Ollama runner' }
  if (arg0 === 'ollama' || comm === 'ollama') return { kind: 'ollama', label: argv.includes('runner') ? 'Ollama runner' : argv.includes('serve') ? 'Ollama server' : 'Ollama' }
  if (/lm[ -]?studio/i.test(argv[0] ?? '') || /lm[ -]?studio/i.test(comm) || (argv[0] ?? '').includes('/.lmstudio/') || arg0 === 'lms') return { kind: 'lmstudio', label: 'LM Studio' }
  if (isPython(arg0) || isPython(comm)) {
    const script = argv.slice(1).find((a) => !a.startsWith('-'))
    return { kind: 'python', label: `Python${script ? ` (${basename(script)})` : ''}` }
  }
  return null
}

export interface LlamaArgs {
  model: string | null
  /** --no-mmap, or --load-mode none|dio (no mapping) */
  noMmap: boolean
  mlock: boolean
  /** true: -dio/--direct-io or --load-mode dio; false: -ndio/--no-direct-io; null: the build's default */
  directIo: boolean | null
  loadMode: string | null
  /** The flags as given, for evidence */
  flags: string[]
}

/** llama.cpp's loading flags (both spellings, and --flag=value). */
export function parseLlamaArgs(argv: readonly string[]): LlamaArgs {
  const out: LlamaArgs = { model: null, noMmap: false, mlock: false, directIo: null, loadMode: null, flags: [] }
  for (let i = 1; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined]
    const value = () => inline ?? argv[++i] ?? ''
    switch (flag) {
      case '-m':
      case '--model':
        out.model = value()
        break
      case '--no-mmap':
        out.noMmap = true
        out.flags.push(flag)
        break
      case '--mlock':
        out.mlock = true
        out.flags.push(flag)
        break
      case '-dio':
      case '--direct-io':
        out.directIo = true
        out.flags.push(flag)
        break
      case '-ndio':
      case '--no-direct-io':
        out.directIo = false
        out.flags.push(flag)
        break
      case '-lm':
      case '--load-mode': {
        const mode = value()
        out.loadMode = mode
        out.flags.push(`${flag} ${mode}`)
        if (mode === 'dio') out.directIo = true
        if (mode === 'mmap' || mode === 'mlock') out.directIo = false
        if (mode === 'none' || mode === 'dio') out.noMmap = true
        if (mode === 'mlock') out.mlock = true
        break
      }
    }
  }
  return out
}
