/**
 * EventBridge and Scheduler tests: a recorder function (it logs each event it gets as
 * `EVENT <json>`), reading back what it recorded, and the scheduling clock's control.
 */
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { arn, eventually, logMessages, nodeZip, type Clients } from './lambda.js';

export const RECORDER = `
exports.handler = async (event) => {
  console.log('EVENT ' + JSON.stringify(event));
  return { ok: true };
};
`;

/** Creates the recorder `name`; with `permit`, lets EventBridge invoke it (any rule). */
export async function createRecorder(
  c: Clients,
  role: string,
  name: string,
  permit = true,
): Promise<string> {
  await c.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: role,
      Code: { ZipFile: nodeZip(RECORDER) },
      Timeout: 30, // not AWS's 3 s: a loaded CI machine must not time a delivery out
    }),
  );
  await waitUntilFunctionActiveV2({ client: c.lambda, maxWaitTime: 60 }, { FunctionName: name });
  if (permit) {
    await c.lambda.send(
      new AddPermissionCommand({
        FunctionName: name,
        StatementId: 'events',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: 'arn:aws:events:us-east-1:000000000000:rule/*',
      }),
    );
  }
  return arn(name);
}

/** Every event the recorder logged so far, oldest first. */
export async function recorded(c: Clients, name: string): Promise<unknown[]> {
  const lines = await logMessages(c.logs, `/aws/lambda/${name}`);
  return lines
    .map((l) => /EVENT (\{.*\}|\[.*\]|".*"|\S+)\s*$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map((x) => JSON.parse(x) as unknown);
}

/** Waits until the recorder has logged at least `count` events; resolves them all. */
export function recordedAtLeast(
  c: Clients,
  name: string,
  count: number,
  timeoutMs = 120_000,
): Promise<unknown[]> {
  return eventually(
    `${count} events recorded by ${name}`,
    async () => {
      const got = await recorded(c, name);
      return got.length >= count ? got : undefined;
    },
    timeoutMs,
  );
}

export interface ClockState {
  now: string;
  offsetSeconds: number;
  fired?: number;
}

/** POST /_stratus/clock (advance, set or fire); GET without a body. */
export async function clock(endpoint: string, body?: Record<string, unknown>): Promise<ClockState> {
  const res = await fetch(`${endpoint}/_stratus/clock`, {
    method: body ? 'POST' : 'GET',
    ...(body && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const out = (await res.json()) as ClockState & { message?: string };
  if (!res.ok) throw new Error(`clock: ${res.status} ${out.message}`);
  return out;
}
