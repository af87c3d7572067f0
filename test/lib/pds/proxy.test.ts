// Which requests go through which proxy: the environment's variables with curl's precedence,
// NO_PROXY's forms (names, suffixes, IPs, CIDR, ports, *), loopback never, and the proxy's
// credentials never shown.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { describeProxy, proxyFor, proxySettingsFromEnv } from '../../../src/lib/pds/proxy.js'
import { UsageError } from '../../../src/lib/errors.js'

const via = (env: Record<string, string>, url: string) => proxyFor(new URL(url), proxySettingsFromEnv(env))?.href

describe('proxy settings from the environment', () => {
  test('no variable, no proxy', () => {
    assert.equal(proxySettingsFromEnv({}), undefined)
    assert.equal(proxySettingsFromEnv({ HTTPS_PROXY: '  ', NO_PROXY: 'x' }), undefined)
  })

  test("each scheme its own variable, lower case first (curl's precedence), ALL_PROXY last", () => {
    assert.equal(via({ HTTPS_PROXY: 'http://up:1' }, 'https://pds.example'), 'http://up:1/')
    assert.equal(via({ HTTPS_PROXY: 'http://up:1' }, 'http://pds.example'), undefined)
    assert.equal(via({ HTTP_PROXY: 'http://up:2' }, 'http://pds.example'), 'http://up:2/')
    assert.equal(via({ https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:1' }, 'https://pds.example'), 'http://low:1/')
    assert.equal(via({ http_proxy: 'http://low:2', HTTP_PROXY: 'http://up:2' }, 'http://pds.example'), 'http://low:2/')
    assert.equal(via({ ALL_PROXY: 'http://all:3' }, 'https://pds.example'), 'http://all:3/')
    assert.equal(via({ ALL_PROXY: 'http://all:3', HTTPS_PROXY: 'http://up:1' }, 'https://pds.example'), 'http://up:1/')
    assert.equal(via({ all_proxy: 'http://low:3', ALL_PROXY: 'http://all:3' }, 'http://pds.example'), 'http://low:3/')
    assert.equal(via({ HTTPS_PROXY: 'proxy.corp:3128' }, 'https://pds.example'), 'http://proxy.corp:3128/', 'a bare host:port is http://')
  })

  test('loopback is never proxied, whatever NO_PROXY says', () => {
    for (const url of ['http://127.0.0.1:3000', 'http://127.9.9.9', 'http://localhost:3000', 'http://pds.localhost', 'http://[::1]:3000', 'http://[::ffff:127.0.0.1]']) {
      assert.equal(via({ HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1' }, url), undefined, url)
    }
    assert.equal(via({ HTTP_PROXY: 'http://p:1' }, 'http://0.0.0.0:3000'), 'http://p:1/', '0.0.0.0 is not loopback')
    assert.equal(via({ HTTP_PROXY: 'http://p:1' }, 'http://128.0.0.1'), 'http://p:1/')
  })

  test('NO_PROXY: names and their subdomains, leading dots, IPs, CIDR, ports, *', () => {
    const env = (no: string) => ({ HTTPS_PROXY: 'http://p:1', NO_PROXY: no })
    assert.equal(via(env('example.com'), 'https://example.com'), undefined)
    assert.equal(via(env('example.com'), 'https://pds.example.com'), undefined)
    assert.equal(via(env('.example.com'), 'https://pds.example.com'), undefined)
    assert.equal(via(env('*.example.com'), 'https://pds.example.com'), undefined)
    assert.equal(via(env('example.com'), 'https://badexample.com'), 'http://p:1/')
    assert.equal(via(env('EXAMPLE.com.'), 'https://Pds.Example.COM'), undefined)
    assert.equal(via(env('10.0.0.0/8, 192.168.1.5'), 'https://10.1.2.3'), undefined)
    assert.equal(via(env('10.0.0.0/8, 192.168.1.5'), 'https://192.168.1.5'), undefined)
    assert.equal(via(env('10.0.0.0/8, 192.168.1.5'), 'https://192.168.1.6'), 'http://p:1/')
    assert.equal(via(env('fd00::/8'), 'https://[fd12::1]'), undefined)
    assert.equal(via(env('fd00::/8'), 'https://[fe80::1]'), 'http://p:1/')
    assert.equal(via(env('pds.example:8443'), 'https://pds.example:8443'), undefined)
    assert.equal(via(env('pds.example:8443'), 'https://pds.example'), 'http://p:1/', 'another port is proxied')
    assert.equal(via(env('pds.example:443'), 'https://pds.example'), undefined, 'the default port counts')
    assert.equal(via(env('*'), 'https://anything.example'), undefined)
    assert.equal(via({ HTTPS_PROXY: 'http://p:1', no_proxy: 'a.example', NO_PROXY: 'b.example' }, 'https://b.example'), 'http://p:1/', 'no_proxy wins over NO_PROXY')
  })

  test('a malformed or non-HTTP proxy URL is a usage error naming the variable, never its credentials', () => {
    for (const [env, name] of [
      [{ HTTPS_PROXY: 'http://us er:pw@[::1' }, 'HTTPS_PROXY'],
      [{ https_proxy: 'socks5://admin:s3cret@p:1080' }, 'https_proxy'],
      [{ ALL_PROXY: 'https://admin:s3cret@p:443' }, 'ALL_PROXY'],
    ] as const) {
      assert.throws(() => proxySettingsFromEnv(env), (err: unknown) => {
        assert.ok(err instanceof UsageError)
        assert.match(err.line, new RegExp(name))
        assert.doesNotMatch(err.line, /s3cret|admin|pw@/)
        return true
      })
    }
  })

  test('a proxy is shown by its origin alone', () => {
    assert.equal(describeProxy(new URL('http://user:p%40ss@proxy.corp:3128/')), 'http://proxy.corp:3128')
  })
})
