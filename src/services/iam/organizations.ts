/**
 * The IAM operations that need AWS Organizations or a partner onboarding Stratus has not
 * got: every account here stands outside any organization, so they answer what AWS
 * answers such an account, never NotImplemented.
 * - Centralized root access (List/Enable/DisableOrganizations…): "The request was rejected
 *   because no organization is associated with your account." (OrganizationNotFoundException).
 * - Organizations access reports: the job is accepted and FAILS, as a report over an
 *   organization path cannot be made without one.
 * - Delegation requests (temporary access delegation, Nov 2025): "This API is not available
 *   for general use. In order to use this API, a caller first need to go through an
 *   onboarding process": no partner is onboarded here, so none is ever created, and every
 *   request id is unknown.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management
 */
import { randomUUID } from 'node:crypto';
import { NoSuchEntityException, OrganizationNotFoundException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { GetOrganizationsAccessReportResponse } from '../../api/iam/types.js';
import { AwsError } from '../../shared/errors.js';
import { timestamp, type IamDeps } from './common.js';
import { T } from './store.js';

type OrganizationOps = Pick<
  IamOperations,
  | 'ListOrganizationsFeatures'
  | 'EnableOrganizationsRootCredentialsManagement'
  | 'DisableOrganizationsRootCredentialsManagement'
  | 'EnableOrganizationsRootSessions'
  | 'DisableOrganizationsRootSessions'
  | 'GenerateOrganizationsAccessReport'
  | 'GetOrganizationsAccessReport'
  | 'CreateDelegationRequest'
  | 'GetDelegationRequest'
  | 'ListDelegationRequests'
  | 'AcceptDelegationRequest'
  | 'AssociateDelegationRequest'
  | 'RejectDelegationRequest'
  | 'UpdateDelegationRequest'
  | 'SendDelegationToken'
  | 'GetHumanReadableSummary'
>;

interface OrganizationsJobRecord {
  created: string;
  entityPath: string;
}

const NO_ORGANIZATION =
  'The request was rejected because no organization is associated with your account.';

const noOrganization = (): never => {
  throw new OrganizationNotFoundException(NO_ORGANIZATION);
};

const noDelegationRequest = (id: string): never => {
  throw new NoSuchEntityException(`The delegation request with ID ${id} cannot be found.`);
};

export function organizationOperations(deps: IamDeps): OrganizationOps {
  const { store } = deps;
  return {
    async ListOrganizationsFeatures() {
      return noOrganization();
    },
    async EnableOrganizationsRootCredentialsManagement() {
      return noOrganization();
    },
    async DisableOrganizationsRootCredentialsManagement() {
      return noOrganization();
    },
    async EnableOrganizationsRootSessions() {
      return noOrganization();
    },
    async DisableOrganizationsRootSessions() {
      return noOrganization();
    },

    async GenerateOrganizationsAccessReport(input, ctx) {
      const jobId = randomUUID();
      const record: OrganizationsJobRecord = {
        created: timestamp(deps),
        entityPath: input.EntityPath,
      };
      await store.transaction((tx) =>
        tx.put(T.organizationsJobs, `${ctx.account}/${jobId}`, record),
      );
      return { JobId: jobId };
    },

    async GetOrganizationsAccessReport(input, ctx) {
      const job = await store.get<OrganizationsJobRecord>(
        T.organizationsJobs,
        `${ctx.account}/${input.JobId}`,
      );
      if (!job) throw new NoSuchEntityException(`Job ${input.JobId} not found.`);
      const out: GetOrganizationsAccessReportResponse = {
        JobStatus: 'FAILED',
        JobCreationDate: new Date(job.created),
        JobCompletionDate: new Date(job.created),
        ErrorDetails: { Code: 'OrganizationNotFoundException', Message: NO_ORGANIZATION },
      };
      return out;
    },

    async CreateDelegationRequest() {
      throw new AwsError(
        'AccessDenied',
        403,
        true,
        'This API is not available for general use: the caller has not gone through the partner onboarding process.',
      );
    },
    async ListDelegationRequests() {
      return { DelegationRequests: [], isTruncated: false };
    },
    async GetDelegationRequest(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    async AcceptDelegationRequest(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    async AssociateDelegationRequest(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    async RejectDelegationRequest(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    async UpdateDelegationRequest(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    async SendDelegationToken(input) {
      return noDelegationRequest(input.DelegationRequestId);
    },
    /** "At this time, the only supported entity type is delegation-request." */
    async GetHumanReadableSummary(input) {
      throw new NoSuchEntityException(`The entity ${input.EntityArn} cannot be found.`);
    },
  };
}
