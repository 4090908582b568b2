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
import { lightsailPlugin } from './services/lightsail/plugin.js';

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
  lightsailPlugin,
];
