// A file path in one line that keeps the file name whole: the folder gives way first (cut at its
// end), so shards that differ only in "-0000N-of-0000M.gguf" stay told apart. Full path on hover.

export function PathText({ path, className = '', testId }: { path: string; className?: string; testId?: string }) {
  const cut = path.lastIndexOf('/') + 1
  const folder = path.slice(0, cut)
  const name = path.slice(cut)
  return (
    <code className={`flex min-w-0 font-mono text-xs ${className}`} title={path} data-testid={testId}>
      {folder && <span className="min-w-0 truncate">{folder}</span>}
      {/* Never narrower than its text unless the name alone is wider than the line. */}
      <span className="max-w-full shrink-0 truncate" data-testid="path-file-name">{name}</span>
    </code>
  )
}
