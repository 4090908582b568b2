/**
 * `provided.al2023` custom runtimes in real processes, driven through createExecutor().invoke():
 * a bash bootstrap speaking the Runtime API, bootstraps from layers, and bootstraps that are
 * missing, not executable or exit during init.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { LambdaExecutor } from './executor.js';
import {
  json,
  useExecutorHarness,
  request,
  spec,
} from '../../../../test/helpers/lambda-executor.js';

const harness = useExecutorHarness();
const { executor, logOf } = harness;

describe('provided.al2023 custom runtimes', () => {
  let ex: LambdaExecutor;
  before(() => (ex = executor()));

  /** A bootstrap in plain bash (/dev/tcp, no curl), one connection per request. */
  const BASH_BOOTSTRAP = `#!/bin/bash
set -euo pipefail
HOST=\${AWS_LAMBDA_RUNTIME_API%:*}
PORT=\${AWS_LAMBDA_RUNTIME_API#*:}
echo "bash runtime starting with handler $_HANDLER"
while true; do
  exec 3<>"/dev/tcp/$HOST/$PORT"
  printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "$HOST" >&3
  REQUEST_ID=""
  LEN=0
  while IFS= read -r line <&3; do
    line=\${line%$'\\r'}
    [ -z "$line" ] && break
    case "\${line,,}" in
      lambda-runtime-aws-request-id:*) REQUEST_ID=\${line#*: } ;;
      content-length:*) LEN=\${line#*: } ;;
    esac
  done
  EVENT=""
  if [ "$LEN" -gt 0 ]; then IFS= read -r -N "$LEN" EVENT <&3 || true; fi
  exec 3<&-
  echo "handling $REQUEST_ID"
  RESPONSE="{\\"echo\\":$EVENT,\\"tmp\\":\\"$TMPDIR\\"}"
  exec 3<>"/dev/tcp/$HOST/$PORT"
  printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\\r\\nHost: %s\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' "$REQUEST_ID" "$HOST" "\${#RESPONSE}" "$RESPONSE" >&3
  cat <&3 >/dev/null
  exec 3<&-
done
`;

  test('a bash bootstrap speaking the Runtime API, cold and warm', async () => {
    const code = await harness.ws.dir('provided-bash', { bootstrap: BASH_BOOTSTRAP });
    const fn = spec(code, { runtime: 'provided.al2023', handler: 'function.handler' });
    const req = request({ hello: 'world' });
    const first = await ex.invoke(fn, req);
    assert.equal(first.kind, 'success', first.payload.toString());
    const r = json(first) as { echo: unknown; tmp: string };
    assert.deepEqual(r.echo, { hello: 'world' });
    assert.ok(r.tmp.startsWith(harness.tmpRoot));
    const second = await ex.invoke(fn, request({ n: 2 }));
    assert.deepEqual((json(second) as { echo: unknown }).echo, { n: 2 });
    assert.equal(second.initDurationMs, undefined);
    const lines = (await logOf(ex, fn.logGroupName))[0].lines;
    assert.ok(lines.includes('bash runtime starting with handler function.handler'));
    assert.ok(lines.includes(`handling ${req.requestId}`));
  });

  test('a bootstrap from a layer (/opt/bootstrap)', async () => {
    const layer = await harness.ws.dir('provided-layer', { bootstrap: BASH_BOOTSTRAP });
    const code = await harness.ws.dir('provided-no-bootstrap', { 'function.sh': 'echo\n' });
    const o = await ex.invoke(
      spec(code, { runtime: 'provided.al2', handler: 'x', layerDirs: [layer] }),
      request({ v: 1 }),
    );
    assert.deepEqual((json(o) as { echo: unknown }).echo, { v: 1 });
  });

  test('no bootstrap, or one that is not executable: Runtime.InvalidEntrypoint', async () => {
    const none = await harness.ws.dir('provided-none', { 'handler.sh': 'echo hi\n' });
    const req = request({});
    const o = await ex.invoke(spec(none, { runtime: 'provided.al2023' }), req);
    assert.equal(o.kind, 'init-error');
    assert.deepEqual(json(o), {
      errorType: 'Runtime.InvalidEntrypoint',
      errorMessage: `RequestId: ${req.requestId} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]`,
    });
    const notExec = await harness.ws.dir('provided-not-exec', {
      bootstrap: 'echo not executable\n',
    });
    const req2 = request({});
    const o2 = await ex.invoke(spec(notExec, { runtime: 'provided.al2023' }), req2);
    assert.deepEqual(json(o2), {
      errorType: 'Runtime.InvalidEntrypoint',
      errorMessage: `RequestId: ${req2.requestId} Error: fork/exec /var/task/bootstrap: permission denied`,
    });
  });

  test('a bootstrap that exits during init: Runtime.ExitError as an init error', async () => {
    const code = await harness.ws.dir('provided-exit', {
      bootstrap: '#!/bin/sh\necho dying\nexit 3\n',
    });
    const req = request({});
    const o = await ex.invoke(spec(code, { runtime: 'provided.al2023' }), req);
    assert.equal(o.kind, 'init-error');
    assert.deepEqual(json(o), {
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${req.requestId} Error: Runtime exited with error: exit status 3`,
    });
  });
});
