/**
 * Service-linked roles: roles a service creates for itself, at
 * `/aws-service-role/<service principal>/`, named as AWS names them, trusted by that
 * service alone and changed only through these operations.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
 * DeleteServiceLinkedRole answers a deletion task; no resource of Stratus's services holds
 * a service-linked role, so the task succeeds at once.
 */
import { randomUUID } from 'node:crypto';
import { InvalidInputException, NoSuchEntityException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import { uniqueId } from '../../shared/aws-ids.js';
import { iamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import { getRole, roleOutput } from './owners.js';
import { nameKey, ownerPrefix, T, type RoleRecord } from './store.js';

type SlrOps = Pick<
  IamOperations,
  'CreateServiceLinkedRole' | 'DeleteServiceLinkedRole' | 'GetServiceLinkedRoleDeletionStatus'
>;

export const SERVICE_ROLE_PATH = '/aws-service-role/';

/**
 * Role names by service principal, from each service's "Using service-linked roles" page;
 * `suffix`: the service accepts CustomSuffix.
 */
const SERVICE_ROLES: Record<string, { name: string; suffix?: boolean }> = {
  'autoscaling.amazonaws.com': { name: 'AWSServiceRoleForAutoScaling', suffix: true },
  'ecs.amazonaws.com': { name: 'AWSServiceRoleForECS' },
  'ecs.application-autoscaling.amazonaws.com': {
    name: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
  },
  'elasticloadbalancing.amazonaws.com': { name: 'AWSServiceRoleForElasticLoadBalancing' },
  'batch.amazonaws.com': { name: 'AWSServiceRoleForBatch' },
  'events.amazonaws.com': { name: 'AWSServiceRoleForCloudWatchEvents' },
  'apigateway.amazonaws.com': { name: 'AWSServiceRoleForAPIGateway' },
  'replicator.lambda.amazonaws.com': { name: 'AWSServiceRoleForLambdaReplicator' },
  'replication.ecr.amazonaws.com': { name: 'AWSServiceRoleForECRReplication' },
  'ecr.amazonaws.com': { name: 'AWSServiceRoleForECRTemplate' },
  'replication.dynamodb.amazonaws.com': { name: 'AWSServiceRoleForDynamoDBReplication' },
  'lightsail.amazonaws.com': { name: 'AWSServiceRoleForLightsail' },
  'eks.amazonaws.com': { name: 'AWSServiceRoleForAmazonEKS' },
  'eks-nodegroup.amazonaws.com': { name: 'AWSServiceRoleForAmazonEKSNodegroup' },
  'spot.amazonaws.com': { name: 'AWSServiceRoleForEC2Spot' },
  'rds.amazonaws.com': { name: 'AWSServiceRoleForRDS' },
  'elasticache.amazonaws.com': { name: 'AWSServiceRoleForElastiCache' },
  'delivery.logs.amazonaws.com': { name: 'AWSServiceRoleForLogDelivery' },
  'cloudtrail.amazonaws.com': { name: 'AWSServiceRoleForCloudTrail' },
  'config.amazonaws.com': { name: 'AWSServiceRoleForConfig' },
  'organizations.amazonaws.com': { name: 'AWSServiceRoleForOrganizations' },
  'sso.amazonaws.com': { name: 'AWSServiceRoleForSSO' },
  'elasticbeanstalk.amazonaws.com': {
    name: 'AWSServiceRoleForElasticBeanstalk',
    suffix: true,
  },
  'es.amazonaws.com': { name: 'AWSServiceRoleForAmazonOpenSearchService' },
  'secretsmanager.amazonaws.com': { name: 'AWSServiceRoleForSecretsManager' },
  'ssm.amazonaws.com': { name: 'AWSServiceRoleForAmazonSSM' },
  'support.amazonaws.com': { name: 'AWSServiceRoleForSupport' },
  'trustedadvisor.amazonaws.com': { name: 'AWSServiceRoleForTrustedAdvisor' },
};

interface DeletionTaskRecord {
  status: 'SUCCEEDED';
}

export function serviceLinkedRoleOperations(deps: IamDeps): SlrOps {
  const { store } = deps;
  return {
    async CreateServiceLinkedRole(input, ctx) {
      const service = SERVICE_ROLES[input.AWSServiceName];
      if (!service) {
        throw new InvalidInputException(`Invalid service name: ${input.AWSServiceName}`);
      }
      if (input.CustomSuffix !== undefined && !service.suffix) {
        throw new InvalidInputException(`Custom suffix is not allowed for ${input.AWSServiceName}`);
      }
      const name =
        input.CustomSuffix !== undefined ? `${service.name}_${input.CustomSuffix}` : service.name;
      const path = `${SERVICE_ROLE_PATH}${input.AWSServiceName}/`;
      const role: RoleRecord = {
        path,
        name,
        id: uniqueId('AROA'),
        arn: iamArn(ctx.account, 'role', path, name),
        created: timestamp(deps),
        trustPolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: [input.AWSServiceName] },
              Action: ['sts:AssumeRole'],
            },
          ],
        }),
        maxSessionDuration: 3600,
        tags: [],
        ...(input.Description !== undefined && { description: input.Description }),
      };
      await store.transaction(async (tx) => {
        if (!(await tx.insert(T.roles, nameKey(ctx.account, name), role))) {
          throw new InvalidInputException(
            `Service role name ${name} has been taken in this account, please try a different suffix.`,
          );
        }
      });
      const out = roleOutput(role, true);
      delete out.RoleLastUsed;
      return { Role: out };
    },

    async DeleteServiceLinkedRole(input, ctx) {
      const taskId = await store.transaction(async (tx) => {
        const role = await getRole(tx, ctx.account, input.RoleName);
        if (!role.path.startsWith(SERVICE_ROLE_PATH)) {
          throw new InvalidInputException(`Role ${role.name} is not a service-linked role.`);
        }
        const service = role.path.slice(SERVICE_ROLE_PATH.length, -1);
        const owned = ownerPrefix(ctx.account, 'role', role.name);
        await tx.deletePrefix(T.inline, owned);
        await tx.deletePrefix(T.attached, owned);
        await tx.delete(T.roles, nameKey(ctx.account, role.name));
        const id = `task${SERVICE_ROLE_PATH}${service}/${role.name}/${randomUUID()}`;
        await tx.put(T.deletionTasks, `${ctx.account}/${id}`, { status: 'SUCCEEDED' });
        return id;
      });
      return { DeletionTaskId: taskId };
    },

    async GetServiceLinkedRoleDeletionStatus(input, ctx) {
      const task = await store.get<DeletionTaskRecord>(
        T.deletionTasks,
        `${ctx.account}/${input.DeletionTaskId}`,
      );
      if (!task) {
        throw new NoSuchEntityException(`Deletion task ${input.DeletionTaskId} not found.`);
      }
      return { Status: task.status };
    },
  };
}
