/**
 * The HTTP answer of a RESPONSE_STREAM function URL, written as the function streams it.
 *
 * A streaming handler usually starts with `awslambda.HttpResponseStream.from(stream,
 * {statusCode, headers, cookies})`, which writes a JSON prelude and 8 NUL bytes before the
 * body: the status line and headers go out once the prelude is complete, then every chunk
 * as it arrives. An answer that cannot start with a prelude (its first byte is not `{`) is
 * streamed as is under 200 application/json; one that is not a prelude after all (or comes
 * from a buffered handler) is mapped whole at the end, like a BUFFERED URL's answer.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
 */
import type { ServerResponse } from 'node:http';
import type { InvokeOutcome } from '../execution/types.js';
import { urlResponse } from './url-event.js';

const PRELUDE_END = Buffer.alloc(8);
/** Preludes are a few headers; past this without the NUL bytes, the answer is not one. */
const MAX_PRELUDE_BYTES = 64 * 1024;
const OPEN_BRACE = 0x7b;

type State = 'sniff' | 'streaming' | 'buffered';

export class UrlResponseStream {
  private state: State = 'sniff';
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly res: ServerResponse,
    /** Headers every answer carries (CORS, x-amzn-requestid). */
    private readonly common: Record<string, string>,
    /** HEAD: status and headers only. */
    private readonly head: boolean,
  ) {}

  /** The function streamed `chunk`. */
  readonly write = (chunk: Buffer): void => {
    if (this.state === 'streaming') {
      if (!this.head) this.res.write(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.state === 'sniff') this.sniff();
  };

  /**
   * The function finished. True when the answer was written; false when nothing was sent
   * yet and the caller answers the failure itself.
   */
  end(outcome: InvokeOutcome): boolean {
    if (this.state === 'streaming') {
      // A failure mid-body cannot change the status any more: the connection is cut so the
      // client sees a broken response rather than a truncated one that looks complete.
      if (outcome.kind === 'success') this.res.end();
      else this.res.destroy();
      return true;
    }
    if (outcome.kind !== 'success') return false;
    if (outcome.payload.length > 0) this.chunks.push(outcome.payload);
    const answer = urlResponse(Buffer.concat(this.chunks), true);
    this.chunks = [];
    this.res.writeHead(answer.status, { ...answer.headers, ...this.common });
    this.res.end(this.head ? undefined : answer.body);
    return true;
  }

  /** Whether status and headers are gone (a later failure can only cut the connection). */
  get started(): boolean {
    return this.state === 'streaming';
  }

  private sniff(): void {
    const first = this.chunks[0];
    if (first[0] !== OPEN_BRACE) {
      this.startBody({ 'content-type': 'application/json' }, 200, 0);
      return;
    }
    const all = this.chunks.length === 1 ? first : Buffer.concat(this.chunks, this.size);
    this.chunks = [all];
    const end = all.indexOf(PRELUDE_END);
    if (end < 0) {
      if (this.size > MAX_PRELUDE_BYTES) this.state = 'buffered';
      return;
    }
    // urlResponse reads the prelude; an empty body says it was one (otherwise the bytes
    // come back whole as an inferred answer).
    const prelude = urlResponse(all.subarray(0, end + PRELUDE_END.length), true);
    if (prelude.body.length > 0) {
      this.state = 'buffered';
      return;
    }
    this.startBody(prelude.headers, prelude.status, end + PRELUDE_END.length);
  }

  private startBody(
    headers: Record<string, string | string[]>,
    status: number,
    bodyStart: number,
  ): void {
    const pending = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    this.state = 'streaming';
    this.res.writeHead(status, { ...headers, ...this.common });
    if (!this.head && pending.length > bodyStart) this.res.write(pending.subarray(bodyStart));
  }
}
