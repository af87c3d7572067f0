// Saved contexts: named connection settings in <configDir>/contexts.json (mode 0600).
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from './errors.js'
import type { SavedContext } from './settings.js'

export interface ContextFile {
  current?: string
  contexts: Record<string, SavedContext>
}

export function contextsPath(configDir: string): string {
  return path.join(configDir, 'contexts.json')
}

export async function readContexts(configDir: string): Promise<ContextFile> {
  try {
    const parsed = JSON.parse(await readFile(contextsPath(configDir), 'utf8')) as ContextFile
    return { current: parsed.current, contexts: parsed.contexts ?? {} }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} }
    throw new UsageError(`cannot read ${contextsPath(configDir)} (${(err as Error).message})`, { hint: 'Fix or remove that file' })
  }
}

/** The named context, else the current one, else none. A name that does not exist is an error. */
export async function loadContext(configDir: string, name?: string): Promise<SavedContext | undefined> {
  const file = await readContexts(configDir)
  const wanted = name ?? file.current
  if (!wanted) return undefined
  const ctx = file.contexts[wanted]
  if (!ctx) {
    if (!name) return undefined
    throw new UsageError(`no saved context "${name}"`, { hint: 'See `pdsctl context list`' })
  }
  return ctx
}
