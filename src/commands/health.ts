import { PdsCommand } from '../base/base-command.js'
import { CheckFailedError } from '../lib/errors.js'
import { checkHealth, type HealthReport } from '../lib/pds/health.js'

export default class Health extends PdsCommand<typeof Health> {
  static override summary = 'Check that the PDS is up: version, what it says about itself, round-trip time'
  static override description = `Calls /xrpc/_health and com.atproto.server.describeServer. Needs no admin password.
Exits 0 when healthy and 6 when not (unreachable, _health not 200, describeServer failing), so cron can alert on it.
The version is null when the PDS does not report one (a 0.4.x PDS run from npm answers {}).`
  static override examples = [
    '<%= config.bin %> health --url https://pds.example.com',
    '<%= config.bin %> health --json | jq .version',
    '<%= config.bin %> health --kube-namespace bluesky --kube-service bluesky',
  ]

  async run(): Promise<HealthReport> {
    const client = await this.client()
    const report = await checkHealth(client)
    if (this.out.json) {
      await this.out.printJson(report)
    } else {
      await this.out.printFields([
        ['url', report.url],
        ['healthy', report.healthy],
        ['version', report.version ?? (report.healthy ? 'not reported' : null)],
        ['rtt', report.rttMs === null ? null : `${report.rttMs} ms`],
        ['did', report.server?.did],
        ['invite required', report.server?.inviteCodeRequired],
        ['user domains', report.server?.availableUserDomains],
        ['contact', report.server?.contactEmail],
        ['privacy policy', report.server?.links.privacyPolicy],
        ['terms of service', report.server?.links.termsOfService],
      ])
    }
    if (!report.healthy) {
      throw new CheckFailedError(`the PDS at ${report.url} is not healthy: ${report.problems.join('; ')}`)
    }
    return report
  }
}
