/**
 * A stand-in for a Stratus server running containers, killed with SIGKILL by
 * test/containers-restart.test.ts: opens the container driver exactly as the server does
 * (runtime/select.ts openContainers on `--state-dir`), starts five busybox containers
 * (three with a private network and a published port), prints their ids and waits.
 *
 *   node dist/test/helpers/containers-child.js <stateDir> <busybox rootfs> [runc|docker]
 */
import { openContainers } from '../../src/runtime/select.js';
import { createLogger } from '../../src/shared/log.js';

const [stateDir, rootfs, choice = 'runc'] = process.argv.slice(2);
const { driver } = await openContainers(
  { driver: choice === 'docker' ? 'docker' : 'runc', stateDir, ephemeral: false },
  createLogger('warn'),
);
const ids: string[] = [];
for (let i = 0; i < 5; i++) {
  const c = await driver.create(
    {
      name: `orphan-${i}`,
      root: { kind: 'rootfs', path: rootfs },
      command: ['/bin/sleep', '3600'],
      env: {},
      resources: { memoryMb: 64 },
      network:
        i < 3
          ? { mode: 'private', ports: [{ containerPort: 8080, protocol: 'tcp' }] }
          : { mode: 'none' },
      labels: { 'dev.stratus.test': 'restart' },
    },
    { onStdout: () => {}, onStderr: () => {} },
  );
  await c.start();
  ids.push(c.id);
}
process.stdout.write(`${JSON.stringify(ids)}\n`);
setInterval(() => {}, 1 << 30);
