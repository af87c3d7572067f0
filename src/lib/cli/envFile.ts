// Reads a pds.env as data. pdsadmin `source`s it as bash, which runs whatever is in it
// and breaks on values with spaces or `$`; here each line is KEY=VALUE and nothing runs.
// node:fs by getBuiltinModule, not an ES import: the import's namespace costs ~3.5 ms of
// every run (its lazy getters load fs/promises and more); see src/lib/pds/http.ts.
const fs = process.getBuiltinModule('node:fs')
import { UsageError } from '../errors.js'
import { registerEnvSecrets } from '../redaction.js'

export type EnvMap = Record<string, string>

/** Parse dotenv/pds.env text: `KEY=value`, optional `export `, '…' literal, "…" with \n \" \\ escapes, # comments. */
export function parseEnvFile(text: string, source = 'env file'): EnvMap {
  const out: EnvMap = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    // `s`: a value may hold a CR or a line separator (U+2028) without ending the line.
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/s.exec(line)
    if (!m) throw new UsageError(`${source}:${i + 1}: not a KEY=VALUE line`, { hint: 'Fix or remove that line' })
    const [, key, rest] = m
    out[key] = parseValue(rest, `${source}:${i + 1}`)
  }
  return out
}

function parseValue(raw: string, where: string): string {
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1)
    if (end < 0) throw new UsageError(`${where}: unterminated single quote`)
    return raw.slice(1, end)
  }
  if (raw.startsWith('"')) {
    let out = ''
    for (let i = 1; i < raw.length; i++) {
      const c = raw[i]
      if (c === '\\' && i + 1 < raw.length) {
        const n = raw[++i]
        out += n === 'n' ? '\n' : n
      } else if (c === '"') {
        return out
      } else {
        out += c
      }
    }
    throw new UsageError(`${where}: unterminated double quote`)
  }
  // Unquoted: an inline comment starts at whitespace followed by #.
  return raw.replace(/\s+#.*$/, '').trim()
}

export async function readEnvFile(path: string): Promise<EnvMap> {
  let text: string
  try {
    text = fs.readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(`cannot read env file ${path} (${code ?? String(err)})`, {
      hint: 'Check --env-file / PDS_ENV_FILE',
    })
  }
  const values = parseEnvFile(text, path)
  // Its secrets (PDS_ADMIN_PASSWORD, PDS_JWT_SECRET, the SMTP URL's password, …) are never shown.
  registerEnvSecrets(values)
  return values
}

/** A value as given: undefined when unset or blank, else trimmed. */
export function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

/**
 * A setting the PDS reads from its environment, as pdsctl reads it: the environment first
 * (blank counts as unset), then the PDS's env file; with where it came from, for messages.
 */
export function envOrFileValue(key: string, env: Record<string, string | undefined>, envFile: { path: string; values: EnvMap } | undefined): { value: string; origin: string } | undefined {
  const fromEnv = nonEmpty(env[key])
  if (fromEnv !== undefined) return { value: fromEnv, origin: key }
  const fromFile = nonEmpty(envFile?.values[key])
  return fromFile === undefined ? undefined : { value: fromFile, origin: `${key} in ${envFile!.path}` }
}
