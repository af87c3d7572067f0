// Forward proxies, as every operator tool honours them: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY
// and NO_PROXY, each also in lower case. Precedence as curl's: the lower-case name before
// the upper-case one; a URL's own scheme's variable before ALL_PROXY. Loopback (localhost,
// 127.0.0.0/8, ::1) is never proxied, as in Go's rules (and so kubectl's and goat's): a
// port-forward or a local PDS never goes through a proxy.
//
// Every proxied request is a CONNECT tunnel (http.ts), for http:// and https:// alike: the
// proxy sees only the host and port it is asked to reach, never a request, its
// Authorization header or its answer. Credentials in the proxy URL
// (http://user:pass@proxy:3128) go to the proxy alone, as Proxy-Authorization on the
// CONNECT; they never appear in a message or a debug line (describeProxy).
//
// The environment is given once by the base command (useProxyEnvironment); nothing here
// reads process.env itself. It is parsed on the first request, so a malformed proxy URL is
// an error of the commands that send requests, not of every command.
import { UsageError } from '../errors.js'

export interface ProxySettings {
  /** The proxy for http:// URLs, if any. */
  http?: URL
  /** The proxy for https:// URLs, if any. */
  https?: URL
  /** NO_PROXY entries, parsed. */
  noProxy: NoProxyRule[]
  /** Which variable each proxy came from, for messages. */
  from: { http?: string; https?: string }
}

type NoProxyRule =
  | { kind: 'all' }
  | { kind: 'domain'; name: string; port?: string }
  | { kind: 'ip'; bytes: number[]; prefix: number; port?: string }

type Env = Record<string, string | undefined>

let processEnv: Env | undefined
let parsed: { settings: ProxySettings | undefined } | undefined

/** The environment to take proxy settings from, for every transport made without its own (the base command's). */
export function useProxyEnvironment(env: Env | undefined): void {
  processEnv = env
  parsed = undefined
}

/** The process's proxy settings (useProxyEnvironment), parsed once. */
export function processProxySettings(): ProxySettings | undefined {
  if (!processEnv) return undefined
  parsed ??= { settings: proxySettingsFromEnv(processEnv) }
  return parsed.settings
}

const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined)

/** curl's order: the lower-case variable first. */
function pick(env: Env, name: string): [string, string] | undefined {
  for (const n of [name.toLowerCase(), name.toUpperCase()]) {
    const v = nonEmpty(env[n])
    if (v) return [n, v]
  }
  return undefined
}

/** Proxy settings from an environment; undefined when no proxy is set. Throws UsageError for a malformed proxy URL. */
export function proxySettingsFromEnv(env: Env): ProxySettings | undefined {
  const all = pick(env, 'all_proxy')
  const http = pick(env, 'http_proxy') ?? all
  const https = pick(env, 'https_proxy') ?? all
  if (!http && !https) return undefined
  const noProxy = (pick(env, 'no_proxy')?.[1] ?? '').split(/[\s,]+/).filter(Boolean).map(parseNoProxy).filter((r): r is NoProxyRule => r !== undefined)
  return {
    http: http && parseProxyUrl(http[0], http[1]),
    https: https && parseProxyUrl(https[0], https[1]),
    noProxy,
    from: { http: http?.[0], https: https?.[0] },
  }
}

function parseProxyUrl(name: string, value: string): URL {
  // curl and Go take a bare host:port as http://host:port.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`${name} is not a proxy URL`, { hint: `Set it to http://HOST:PORT (credentials, if the proxy wants them, as http://USER:PASSWORD@HOST:PORT)` })
  }
  if (url.protocol !== 'http:') {
    throw new UsageError(`${name} names a ${url.protocol.replace(/:$/, '')} proxy at ${url.host}; pdsctl speaks to HTTP proxies (http://HOST:PORT), which tunnel https with CONNECT`)
  }
  if (!url.hostname) throw new UsageError(`${name} has no proxy host`)
  return url
}

function parseNoProxy(entry: string): NoProxyRule | undefined {
  if (entry === '*') return { kind: 'all' }
  // host:port or [v6]:port (Go's form; curl ignores ports), and CIDR (curl 7.86+, Go).
  let host = entry
  let port: string | undefined
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (v6) [host, port] = [v6[1], v6[2]]
  else {
    const hp = /^([^:]+):(\d+)$/.exec(entry)
    if (hp) [host, port] = [hp[1], hp[2]]
  }
  const cidr = /^(.+)\/(\d{1,3})$/.exec(host)
  const ip = parseIp(cidr ? cidr[1] : host)
  if (ip) {
    const prefix = cidr ? Number(cidr[2]) : ip.length * 8
    if (prefix > ip.length * 8) return undefined
    return { kind: 'ip', bytes: ip, prefix, port }
  }
  const name = host.replace(/^\*?\./, '').replace(/\.$/, '').toLowerCase()
  return name ? { kind: 'domain', name, port } : undefined
}

/** An IPv4 or IPv6 literal as bytes (v4-mapped v6 as v4), else undefined. */
function parseIp(text: string): number[] | undefined {
  const h = text.replace(/^\[(.*)\]$/, '$1')
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(h)) {
    const b = h.split('.').map(Number)
    return b.every((x) => x <= 255) ? b : undefined
  }
  if (!h.includes(':') || !/^[0-9a-f:.]+$/i.test(h)) return undefined
  let u: URL
  try {
    u = new URL(`http://[${h}]/`)
  } catch {
    return undefined
  }
  const groups = u.hostname.slice(1, -1)
  const [head, tail] = groups.includes('::') ? groups.split('::') : [groups, undefined]
  const parts = (s: string) => (s ? s.split(':') : [])
  let words: string[] = parts(head)
  if (tail !== undefined) words = [...words, ...Array(8 - words.length - parts(tail).length).fill('0'), ...parts(tail)]
  // URL writes a v4 tail (::ffff:1.2.3.4) as two hex groups, so eight groups remain.
  const bytes = words.flatMap((w) => {
    const n = parseInt(w, 16)
    return [n >> 8, n & 255]
  })
  if (bytes.length !== 16) return undefined
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255
  return mapped ? bytes.slice(12) : bytes
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  const ip = parseIp(h)
  if (!ip) return false
  return ip.length === 4 ? ip[0] === 127 : ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80')
}

function matches(rule: NoProxyRule, url: URL): boolean {
  if (rule.kind === 'all') return true
  if (rule.port && rule.port !== defaultPort(url)) return false
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (rule.kind === 'domain') return host === rule.name || host.endsWith(`.${rule.name}`)
  const ip = parseIp(host)
  if (!ip || ip.length !== rule.bytes.length) return false
  for (let bit = 0; bit < rule.prefix; bit++) {
    const mask = 0x80 >> bit % 8
    if ((ip[bit >> 3] & mask) !== (rule.bytes[bit >> 3] & mask)) return false
  }
  return true
}

/** The proxy a request to `url` goes through, or undefined for a direct connection. */
export function proxyFor(url: URL, settings: ProxySettings | undefined): URL | undefined {
  if (!settings) return undefined
  const proxy = url.protocol === 'https:' ? settings.https : settings.http
  if (!proxy || isLoopback(url.hostname)) return undefined
  if (settings.noProxy.some((r) => matches(r, url))) return undefined
  return proxy
}

/** A proxy as it may be shown: its origin, never its credentials. */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`
}
