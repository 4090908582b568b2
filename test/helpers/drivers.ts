/**
 * The container drivers a Lambda-in-containers suite runs on, each with the reason it is
 * skipped on this machine (false when it runs): runc where Stratus can run it (root,
 * Linux, runc installed), docker where a daemon answers.
 */
import { dockerAvailable } from '../../src/runtime/docker/driver.js';
import { runcSkipReason } from '../../src/runtime/runc/test-support.js';

export interface DriverCase {
  driver: 'runc' | 'docker';
  skip: string | false;
}

export async function containerDrivers(): Promise<DriverCase[]> {
  return [
    { driver: 'runc', skip: runcSkipReason() ?? false },
    {
      driver: 'docker',
      skip: (await dockerAvailable())
        ? false
        : 'no Docker daemon answers (start dockerd, or set DOCKER_HOST)',
    },
  ];
}
