// The load lab's names, without zod, so that the CLI can check flags without loading the contract.

export const labLoaderKinds = ['builtin', 'llama-cli', 'ollama'] as const
/** builtin: node-llama-cpp in a child Node; llama-cli: a llama.cpp binary (llama-server or llama-cli); ollama: Ollama's API */
export type LabLoaderKind = (typeof labLoaderKinds)[number]

export const labModes = ['cold', 'warm', 'staged', 'locked'] as const
/** cold: evicted first; warm: in the page cache; staged: copied into the RAM disk; locked: warm and mlock'd */
export type LabMode = (typeof labModes)[number]

export const labLimitMethods = ['cgroup', 'pressure'] as const
/** cgroup: the loader alone in a memory-limited cgroup; pressure: dummy memory locked system-wide */
export type LabLimitMethod = (typeof labLimitMethods)[number]
