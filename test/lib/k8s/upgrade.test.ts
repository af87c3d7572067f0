// The pure parts of the upgrade: image references, tags, version matching.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { checkImageTag, imageRepository, imageTag, KNOWN_PDS_IMAGE, versionMatchesTag } from '../../../src/lib/k8s/upgrade.js'
import { UsageError } from '../../../src/lib/errors.js'

describe('upgrade helpers', () => {
  test('image references: repository and tag, with registry ports and digests', () => {
    const cases: Array<[string, string, string | null]> = [
      ['ghcr.io/bluesky-social/pds:0.4.219', 'ghcr.io/bluesky-social/pds', '0.4.219'],
      ['ghcr.io/bluesky-social/pds', 'ghcr.io/bluesky-social/pds', null],
      ['registry.local:5000/pds:0.4', 'registry.local:5000/pds', '0.4'],
      ['registry.local:5000/pds', 'registry.local:5000/pds', null],
      ['ghcr.io/bluesky-social/pds:0.4@sha256:abcd', 'ghcr.io/bluesky-social/pds', '0.4'],
      ['ghcr.io/bluesky-social/pds@sha256:abcd', 'ghcr.io/bluesky-social/pds', null],
    ]
    for (const [image, repo, tag] of cases) {
      assert.equal(imageRepository(image), repo, image)
      assert.equal(imageTag(image), tag, image)
    }
  })

  test('the version the PDS reports against the tag: exact, a floating tag, unknowable', () => {
    assert.equal(versionMatchesTag('0.4.219', '0.4.219'), true)
    assert.equal(versionMatchesTag('0.4.219', 'v0.4.219'), true)
    assert.equal(versionMatchesTag('0.4.219', '0.4'), true)
    assert.equal(versionMatchesTag('0.4.219', '0.4.21'), false, 'not a prefix of a version part')
    assert.equal(versionMatchesTag('0.4.218', '0.4.219'), false)
    assert.equal(versionMatchesTag('0.4.219', 'latest'), null)
    assert.equal(versionMatchesTag('0.4.219', 'sha-1a2b3c'), null)
  })

  test('image tags are checked before anything runs', () => {
    for (const ok of ['0.4.219', 'latest', 'v0.5.0-rc.1', 'sha_1']) assert.doesNotThrow(() => checkImageTag(ok), ok)
    for (const bad of ['', 'bad tag', '-x', '.x', 'a:b', 'a/b', 'x'.repeat(129)]) assert.throws(() => checkImageTag(bad), UsageError, bad)
  })

  test('the known tag is data with a date and a source, and a valid tag', () => {
    assert.doesNotThrow(() => checkImageTag(KNOWN_PDS_IMAGE.tag))
    assert.match(KNOWN_PDS_IMAGE.recorded, /^\d{4}-\d{2}-\d{2}$/)
    assert.equal(KNOWN_PDS_IMAGE.repository, 'ghcr.io/bluesky-social/pds')
    assert.ok(KNOWN_PDS_IMAGE.source.length > 10)
  })
})
