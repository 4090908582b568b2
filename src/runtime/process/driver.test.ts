import { runDriverConformance } from '../conformance.js';
import { runContainerConformance } from '../container-conformance.js';
import { ProcessDriver } from './driver.js';

runDriverConformance('process', new ProcessDriver());
// The host's own shell and tools stand in for busybox: the suite uses POSIX commands only
// where the driver has no isolation or limits.
runContainerConformance('process', () => new ProcessDriver(), {
  busyboxRoot: () => ({ kind: 'host' }),
});
