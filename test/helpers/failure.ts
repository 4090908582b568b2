/** What an SDK v3 call failed with: its name (the wire code), HTTP status and message. */
export interface Failure {
  name: string;
  message: string;
  status?: number;
}

type SdkError = Record<string, unknown> & {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
};

async function caught(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the call to fail');
}

export async function failure(p: Promise<unknown>): Promise<Failure> {
  const e = await caught(p);
  return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
}

/** The same plus the error's other members (modelled fields such as Lambda's `Reason`). */
export async function failureDetail(
  p: Promise<unknown>,
): Promise<Failure & Record<string, unknown>> {
  const e = await caught(p);
  return { ...e, name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
}
