// Saves text as a file the user downloads (the browser's or Electron's save flow).
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A file name from a recording's model name and start time. */
export function recordingFileName(name: string, startedAtMs: number, ext: string): string {
  const stamp = new Date(startedAtMs).toISOString().replace(/[:.]/g, '-').slice(0, 19)
  return `${name.replace(/[^\w.-]+/g, '_').slice(0, 60)}-${stamp}.${ext}`
}
