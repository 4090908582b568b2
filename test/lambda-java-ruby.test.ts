/**
 * java17, java25 and ruby3.3 functions on runc: their runtime images are built offline from
 * Debian's packages (bookworm's OpenJDK 17 with Stratus's Java client compiled by javac in
 * the image; trixie's Ruby 3.3 with Stratus's Ruby bootstrap), and run handlers the way
 * AWS's runtimes do, through SDK v3.
 *
 * The images come from the builder cache under the OS tmp dir that the other container
 * tests share (a cold build of each takes about a minute or two: see the README); a runtime
 * whose image cannot be built here is skipped with the reason. The Java handler is compiled
 * on the host with javac against Stratus's aws-lambda-java-core interfaces (skipped where
 * no javac is installed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  CreateFunctionCommand,
  InvokeCommand,
  type Runtime,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { buildImage } from '../src/images/build/builder.js';
import { silentProgress } from '../src/images/build/progress.js';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { javaClientSources } from '../src/images/build/runtime-files.js';
import { createZip } from './helpers/zip-writer.js';
import {
  clients,
  createRole,
  destroy,
  eventually,
  logMessages,
  type Clients,
} from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');

/** Why a runtime's image cannot be had here (built into the shared cache on first use). */
async function imageSkip(name: string): Promise<string | false> {
  const runc = runcSkipReason();
  if (runc !== undefined) return runc;
  try {
    await buildImage(name, { push: false, cacheDir: IMAGE_CACHE, progress: silentProgress });
    return false;
  } catch (err) {
    return `the ${name} image cannot be built here: ${(err as Error).message}`;
  }
}

function javacSkip(): string | false {
  try {
    execFileSync('javac', ['-version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'no javac on this machine to compile the Java test handler';
  }
}

const JAVA_HANDLER = `
package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.*;
import java.util.*;

public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
  public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
    if (event.containsKey("fail")) throw new IllegalStateException("asked to fail: " + event.get("fail"));
    context.getLogger().log("hello from java " + context.getAwsRequestId());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("javaVersion", System.getProperty("java.version"));
    out.put("name", event.get("name"));
    out.put("count", event.get("count"));
    out.put("requestId", context.getAwsRequestId());
    out.put("function", context.getFunctionName());
    return out;
  }

  public static class Echo implements RequestStreamHandler {
    public void handleRequest(InputStream in, OutputStream out, Context context) throws IOException {
      byte[] event = in.readAllBytes();
      out.write(("{\\"raw\\":" + new String(event, "UTF-8") + "}").getBytes("UTF-8"));
    }
  }
}
`;

const RUBY_HANDLER = `
require 'json'

def handler(event:, context:)
  raise ArgumentError, "asked to fail: #{event['fail']}" if event['fail']
  puts "hello from ruby #{context.aws_request_id}"
  { 'rubyVersion' => RUBY_VERSION, 'name' => event['name'], 'requestId' => context.aws_request_id,
    'remaining' => context.get_remaining_time_in_millis > 0 }
end

module Shop
  class Orders
    def self.count(event:, context:)
      { 'orders' => event['orders'].length }
    end
  end
end
`;

/** Compiles the Java handler against Stratus's interfaces; the classes as a zip. */
function javaZip(dir: string): Buffer {
  const src = join(dir, 'src');
  const api = join(dir, 'api');
  const out = join(dir, 'classes');
  mkdirSync(join(src, 'example'), { recursive: true });
  mkdirSync(api, { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(src, 'example', 'Hello.java'), JAVA_HANDLER);
  const core = join(javaClientSources(), 'com', 'amazonaws', 'services', 'lambda', 'runtime');
  const coreFiles = ['Context', 'LambdaLogger', 'RequestHandler', 'RequestStreamHandler'].map((n) =>
    join(core, `${n}.java`),
  );
  execFileSync('javac', ['--release', '17', '-d', api, ...coreFiles]);
  execFileSync('javac', [
    '--release',
    '17',
    '-cp',
    api,
    '-d',
    out,
    join(src, 'example', 'Hello.java'),
  ]);
  const names = execFileSync('find', [out, '-name', '*.class'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  return createZip(names.map((p) => ({ name: relative(out, p), data: readFileSync(p) })));
}

const [javaSkip, java25Skip, rubySkip] = [
  javacSkip() || (await imageSkip('lambda-java:17')),
  javacSkip() || (await imageSkip('lambda-java:25')),
  await imageSkip('lambda-ruby:3.3'),
];

describe(
  'java17, java25 and ruby3.3 on runc',
  { skip: javaSkip && java25Skip && rubySkip ? `${javaSkip}; ${rubySkip}` : false },
  () => {
    let server: TestServer;
    let c: Clients;
    let role: string;
    let previousCache: string | undefined;
    let work: string;

    before(async () => {
      previousCache = process.env.STRATUS_IMAGE_CACHE;
      process.env.STRATUS_IMAGE_CACHE = IMAGE_CACHE;
      work = mkdtempSync(join(tmpdir(), 'stratus-java-ruby-'));
      server = await startTestServer({ driver: 'runc' });
      c = clients(server.endpoint);
      role = await createRole(c.iam, 'java-ruby-role');
    });
    after(async () => {
      destroy(c);
      await server?.stop();
      rmSync(work, { recursive: true, force: true });
      if (previousCache === undefined) delete process.env.STRATUS_IMAGE_CACHE;
      else process.env.STRATUS_IMAGE_CACHE = previousCache;
    });

    async function create(name: string, runtime: string, handler: string, zip: Buffer) {
      await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: runtime as Runtime,
          Handler: handler,
          Role: role,
          MemorySize: 512,
          Timeout: 60,
          Code: { ZipFile: zip },
        }),
      );
      await waitUntilFunctionActiveV2(
        { client: c.lambda, maxWaitTime: 900 },
        { FunctionName: name },
      );
    }

    async function invoke(name: string, event: unknown) {
      const out = await c.lambda.send(
        new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
      );
      return {
        error: out.FunctionError,
        body: JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<
          string,
          unknown
        >,
      };
    }

    test(
      'java17: a RequestHandler gets the event as a Map and answers JSON; errors as AWS',
      { skip: javaSkip },
      async () => {
        const zip = javaZip(join(work, 'java'));
        await create('java17', 'java17', 'example.Hello::handleRequest', zip);
        const { error, body } = await invoke('java17', { name: 'duke', count: 3 });
        assert.equal(error, undefined, JSON.stringify(body));
        assert.match(String(body.javaVersion), /^17\./);
        assert.equal(body.name, 'duke');
        assert.equal(body.count, 3);
        assert.equal(body.function, 'java17');
        const id = String(body.requestId);
        await eventually('the handler log line', async () =>
          (await logMessages(c.logs, '/aws/lambda/java17')).some((l) =>
            l.includes(`hello from java ${id}`),
          )
            ? true
            : undefined,
        );

        const failed = await invoke('java17', { fail: 'now' });
        assert.equal(failed.error, 'Unhandled');
        assert.equal(failed.body.errorType, 'java.lang.IllegalStateException');
        assert.equal(failed.body.errorMessage, 'asked to fail: now');
        assert.ok(Array.isArray(failed.body.stackTrace));

        await create('java17-stream', 'java17', 'example.Hello$Echo', zip);
        const echoed = await invoke('java17-stream', { a: [1, 2] });
        assert.equal(echoed.error, undefined, JSON.stringify(echoed.body));
        assert.deepEqual(echoed.body, { raw: { a: [1, 2] } });
      },
    );

    test(
      "java25 (Debian forky's OpenJDK 25): the same handler classes run",
      { skip: java25Skip },
      async () => {
        const zip = javaZip(join(work, 'java25'));
        await create('java25', 'java25', 'example.Hello::handleRequest', zip);
        const { error, body } = await invoke('java25', { name: 'duke', count: 25 });
        assert.equal(error, undefined, JSON.stringify(body));
        assert.match(String(body.javaVersion), /^25\./);
        assert.equal(body.count, 25);
        assert.equal(body.function, 'java25');
      },
    );

    test(
      'ruby3.3: file.method and Module::Class.method handlers; errors as AWS',
      { skip: rubySkip },
      async () => {
        const zip = createZip([{ name: 'lambda_function.rb', data: RUBY_HANDLER }]);
        await create('ruby33', 'ruby3.3', 'lambda_function.handler', zip);
        const { error, body } = await invoke('ruby33', { name: 'matz' });
        assert.equal(error, undefined, JSON.stringify(body));
        assert.match(String(body.rubyVersion), /^3\.3\./);
        assert.equal(body.name, 'matz');
        assert.equal(body.remaining, true);

        const failed = await invoke('ruby33', { fail: 'now' });
        assert.equal(failed.error, 'Unhandled');
        assert.equal(failed.body.errorType, 'ArgumentError');
        assert.equal(failed.body.errorMessage, 'asked to fail: now');

        await create('ruby33-class', 'ruby3.3', 'lambda_function.Shop::Orders.count', zip);
        const counted = await invoke('ruby33-class', { orders: [1, 2, 3] });
        assert.deepEqual(counted.body, { orders: 3 });
      },
    );
  },
);
