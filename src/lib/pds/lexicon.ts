// The XRPC methods pdsctl calls, typed from @atproto/api's generated lexicon types.
// `import type` only: loading @atproto/api at run time costs ~0.5 s of start-up, and
// pdsctl needs its types, not its runtime (see src/lib/xrpcClient.ts).
import type {
  ComAtprotoAdminDeleteAccount as DeleteAccount,
  ComAtprotoAdminDisableAccountInvites as DisableAccountInvites,
  ComAtprotoAdminDisableInviteCodes as DisableInviteCodes,
  ComAtprotoAdminEnableAccountInvites as EnableAccountInvites,
  ComAtprotoAdminGetAccountInfo as GetAccountInfo,
  ComAtprotoAdminGetAccountInfos as GetAccountInfos,
  ComAtprotoAdminGetInviteCodes as GetInviteCodes,
  ComAtprotoAdminGetSubjectStatus as GetSubjectStatus,
  ComAtprotoAdminSendEmail as SendEmail,
  ComAtprotoAdminUpdateAccountEmail as UpdateAccountEmail,
  ComAtprotoAdminUpdateAccountHandle as UpdateAccountHandle,
  ComAtprotoAdminUpdateAccountPassword as UpdateAccountPassword,
  ComAtprotoAdminUpdateSubjectStatus as UpdateSubjectStatus,
  ComAtprotoIdentityResolveHandle as ResolveHandle,
  ComAtprotoServerConfirmEmail as ConfirmEmail,
  ComAtprotoServerCreateAccount as CreateAccount,
  ComAtprotoServerCreateInviteCode as CreateInviteCode,
  ComAtprotoServerCreateInviteCodes as CreateInviteCodes,
  ComAtprotoServerCreateSession as CreateSession,
  ComAtprotoServerDescribeServer as DescribeServer,
  ComAtprotoServerGetSession as GetSession,
  ComAtprotoSyncGetRepoStatus as GetRepoStatus,
  ComAtprotoSyncListRepos as ListRepos,
  ComAtprotoRepoGetRecord as GetRecord,
  ComAtprotoSyncGetHostStatus as GetHostStatus,
  ComAtprotoSyncRequestCrawl as RequestCrawl,
} from '@atproto/api'

export type { ComAtprotoAdminDefs as AdminDefs, ComAtprotoServerDefs as ServerDefs } from '@atproto/api'

type P<I, O> = { input: I; output: O }

export interface Queries {
  'com.atproto.admin.getAccountInfo': { params: GetAccountInfo.QueryParams; output: GetAccountInfo.OutputSchema }
  'com.atproto.admin.getAccountInfos': { params: GetAccountInfos.QueryParams; output: GetAccountInfos.OutputSchema }
  'com.atproto.admin.getInviteCodes': { params: GetInviteCodes.QueryParams; output: GetInviteCodes.OutputSchema }
  'com.atproto.admin.getSubjectStatus': { params: GetSubjectStatus.QueryParams; output: GetSubjectStatus.OutputSchema }
  'com.atproto.identity.resolveHandle': { params: ResolveHandle.QueryParams; output: ResolveHandle.OutputSchema }
  'com.atproto.server.describeServer': { params: Record<string, never>; output: DescribeServer.OutputSchema }
  'com.atproto.server.getSession': { params: Record<string, never>; output: GetSession.OutputSchema }
  'com.atproto.sync.getRepoStatus': { params: GetRepoStatus.QueryParams; output: GetRepoStatus.OutputSchema }
  'com.atproto.sync.listRepos': { params: ListRepos.QueryParams; output: ListRepos.OutputSchema }
  'com.atproto.repo.getRecord': { params: GetRecord.QueryParams; output: GetRecord.OutputSchema }
  /** Served by relays, not by the PDS. */
  'com.atproto.sync.getHostStatus': { params: GetHostStatus.QueryParams; output: GetHostStatus.OutputSchema }
}

export interface Procedures {
  'com.atproto.admin.deleteAccount': P<DeleteAccount.InputSchema, void>
  'com.atproto.admin.disableAccountInvites': P<DisableAccountInvites.InputSchema, void>
  'com.atproto.admin.disableInviteCodes': P<DisableInviteCodes.InputSchema, void>
  'com.atproto.admin.enableAccountInvites': P<EnableAccountInvites.InputSchema, void>
  'com.atproto.admin.sendEmail': P<SendEmail.InputSchema, SendEmail.OutputSchema>
  'com.atproto.admin.updateAccountEmail': P<UpdateAccountEmail.InputSchema, void>
  'com.atproto.admin.updateAccountHandle': P<UpdateAccountHandle.InputSchema, void>
  'com.atproto.admin.updateAccountPassword': P<UpdateAccountPassword.InputSchema, void>
  'com.atproto.admin.updateSubjectStatus': P<UpdateSubjectStatus.InputSchema, UpdateSubjectStatus.OutputSchema>
  'com.atproto.server.confirmEmail': P<ConfirmEmail.InputSchema, void>
  'com.atproto.server.createAccount': P<CreateAccount.InputSchema, CreateAccount.OutputSchema>
  'com.atproto.server.createInviteCode': P<CreateInviteCode.InputSchema, CreateInviteCode.OutputSchema>
  'com.atproto.server.createInviteCodes': P<CreateInviteCodes.InputSchema, CreateInviteCodes.OutputSchema>
  'com.atproto.server.createSession': P<CreateSession.InputSchema, CreateSession.OutputSchema>
  /** Takes no input: sent with an empty body and Content-Length: 0. */
  'com.atproto.server.requestEmailConfirmation': P<undefined, void>
  /** Served by relays, not by the PDS. */
  'com.atproto.sync.requestCrawl': P<RequestCrawl.InputSchema, void>
}
