import type { Catalog } from '../../../../shared/api'
import { AddFolder, RescanButton, RootList, SkippedList } from './Sources'

/** No models: say exactly where Hearth looked, so the user knows what to add. */
export function EmptyState({ catalog }: { catalog: Catalog }) {
  return (
    <section data-testid="empty-state" className="mx-auto max-w-3xl rounded-xl border border-dashed border-zinc-300 bg-white p-6 dark:border-zinc-700 dark:bg-zinc-900">
      <h2 className="text-lg font-semibold">No models found</h2>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Hearth looked in the places LM Studio, Ollama, Hugging Face, llama.cpp, GPT4All, Jan and text-generation-webui keep models. If yours live elsewhere, add that folder.
      </p>
      <div className="mt-4">
        <AddFolder />
      </div>
      <div className="mt-5 flex items-center justify-between">
        <h3 className="text-sm font-semibold text-zinc-700 dark:text-zinc-300">Where Hearth looked</h3>
        <RescanButton />
      </div>
      <div className="mt-1"><RootList roots={catalog.roots} /></div>
      {catalog.skipped.length > 0 && (
        <details className="mt-4">
          <summary className="cursor-pointer text-sm text-zinc-600 dark:text-zinc-400">Skipped ({catalog.skipped.length}) — found, but not usable</summary>
          <div className="mt-2"><SkippedList /></div>
        </details>
      )}
    </section>
  )
}
