/**
 * AWS managed policies (`arn:aws:iam::aws:policy/...`). AWS publishes over a thousand;
 * Stratus treats every ARN in that namespace as an existing, attachable policy (so
 * `attach-role-policy --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`
 * works as it does on AWS) and carries the documents of a few commonly used ones.
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../../api/iam/types.js';
import { iamArn, type ParsedIamArn } from './arns.js';

interface CatalogEntry {
  path: string;
  name: string;
  description: string;
  document: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const allow = (actions: string[]): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: actions.length === 1 ? actions[0] : actions, Resource: '*' },
    ],
  });

const CATALOG: readonly CatalogEntry[] = [
  {
    path: '/',
    name: 'AdministratorAccess',
    description: 'Provides full access to AWS services and resources.',
    document: allow(['*']),
  },
  {
    path: '/service-role/',
    name: 'AWSLambdaBasicExecutionRole',
    description: 'Provides write permissions to CloudWatch Logs.',
    document: allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']),
  },
  {
    path: '/service-role/',
    name: 'AWSLambdaVPCAccessExecutionRole',
    description:
      'Provides minimum permissions for a Lambda function to execute while accessing a resource within a VPC - create, describe, delete network interfaces and write permissions to CloudWatch Logs. ',
    document: allow([
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ]),
  },
  {
    path: '/service-role/',
    name: 'AmazonECSTaskExecutionRolePolicy',
    description:
      'Provides access to other AWS service resources that are required to run Amazon ECS tasks',
    document: allow([
      'ecr:GetAuthorizationToken',
      'ecr:BatchCheckLayerAvailability',
      'ecr:GetDownloadUrlForLayer',
      'ecr:BatchGetImage',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]),
  },
  {
    path: '/',
    name: 'AmazonS3FullAccess',
    description: 'Provides full access to all buckets via the AWS Management Console.',
    document: allow(['s3:*', 's3-object-lambda:*']),
  },
  {
    path: '/',
    name: 'AmazonS3ReadOnlyAccess',
    description: 'Provides read only access to all buckets via the AWS Management Console.',
    document: allow([
      's3:Get*',
      's3:List*',
      's3:Describe*',
      's3-object-lambda:Get*',
      's3-object-lambda:List*',
    ]),
  },
  {
    path: '/',
    name: 'CloudWatchLogsFullAccess',
    description: 'Provides full access to CloudWatch Logs',
    document: allow(['logs:*', 'cloudwatch:GenerateQuery']),
  },
  {
    path: '/',
    name: 'AmazonEC2ContainerRegistryReadOnly',
    description: 'Provides read-only access to Amazon EC2 Container Registry repositories.',
    document: allow([
      'ecr:GetAuthorizationToken',
      'ecr:BatchCheckLayerAvailability',
      'ecr:GetDownloadUrlForLayer',
      'ecr:GetRepositoryPolicy',
      'ecr:DescribeRepositories',
      'ecr:ListImages',
      'ecr:DescribeImages',
      'ecr:BatchGetImage',
      'ecr:GetLifecyclePolicy',
      'ecr:GetLifecyclePolicyPreview',
      'ecr:ListTagsForResource',
      'ecr:DescribeImageScanFindings',
    ]),
  },
];

const BY_ARN = new Map(CATALOG.map((e) => [iamArn('aws', 'policy', e.path, e.name), e]));

/** The catalogued AWS managed policies, sorted by name. */
export function catalogArns(): string[] {
  return [...BY_ARN.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => iamArn('aws', 'policy', e.path, e.name));
}

/** The default (v1) document when Stratus carries it. */
export function awsPolicyDocument(arn: string): string | undefined {
  return BY_ARN.get(arn)?.document;
}

export function awsPolicyOutput(parsed: ParsedIamArn, attachmentCount: number): Policy {
  const arn = iamArn('aws', 'policy', parsed.path, parsed.name);
  const entry = BY_ARN.get(arn);
  const created = new Date('2015-02-06T18:39:46Z');
  const out: Policy = {
    PolicyName: parsed.name,
    PolicyId: awsPolicyId(arn),
    Arn: arn,
    Path: parsed.path,
    DefaultVersionId: 'v1',
    AttachmentCount: attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    CreateDate: created,
    UpdateDate: created,
  };
  if (entry) out.Description = entry.description;
  return out;
}

/** A stable ANPA… id derived from the ARN, so repeated GetPolicy calls agree. */
function awsPolicyId(arn: string): string {
  const digest = createHash('sha256').update(arn).digest();
  let out = 'ANPA';
  for (let i = 0; i < 17; i++) out += BASE32[digest[i] & 31];
  return out;
}
