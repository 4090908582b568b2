/**
 * The explicit list of services Stratus implements. A service detected on the wire but not
 * listed here answers every operation with the protocol's NotImplemented error.
 */
import type { ServicePlugin } from './services/plugin.js';
import { logsPlugin } from './services/logs/plugin.js';
import { iamPlugin } from './services/iam/plugin.js';
import { stsPlugin } from './services/sts/plugin.js';
import { lambdaPlugin } from './services/lambda/plugin.js';
import { ecrPlugin } from './services/ecr/plugin.js';
import { s3Plugin } from './services/s3/plugin.js';
import { elbv2Plugin } from './services/elbv2/plugin.js';
import { ecsPlugin } from './services/ecs/plugin.js';
import { batchPlugin } from './services/batch/plugin.js';
import { cePlugin } from './services/ce/plugin.js';
import { dynamodbPlugin } from './services/dynamodb/plugin.js';
import { dynamodbstreamsPlugin } from './services/dynamodbstreams/plugin.js';
import { apigatewayPlugin } from './services/apigateway/plugin.js';
import { apigatewayv2Plugin } from './services/apigatewayv2/plugin.js';
import { apigatewaymanagementapiPlugin } from './services/apigatewaymanagementapi/plugin.js';
import { eventsPlugin } from './services/events/plugin.js';
import { schedulerPlugin } from './services/scheduler/plugin.js';

export const plugins: readonly ServicePlugin[] = [
  logsPlugin,
  iamPlugin,
  stsPlugin,
  lambdaPlugin,
  ecrPlugin,
  s3Plugin,
  elbv2Plugin,
  ecsPlugin,
  batchPlugin,
  cePlugin,
  dynamodbPlugin,
  dynamodbstreamsPlugin,
  apigatewayPlugin,
  apigatewayv2Plugin,
  apigatewaymanagementapiPlugin,
  eventsPlugin,
  schedulerPlugin,
];
