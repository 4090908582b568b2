/**
 * DynamoDB Streams' four operations. One shard per stream; shard iterators are tokens
 * naming the stream, the shard and the last sequence number read, valid 15 minutes.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB_Streams.html
 */
import {
  ExpiredIteratorException,
  ResourceNotFoundException,
} from '../../api/dynamodbstreams/errors.js';
import type { DynamodbstreamsOperations } from '../../api/dynamodbstreams/operations.js';
import type { RecordShape as StreamsRecord } from '../../api/dynamodbstreams/types.js';
import { AwsError } from '../../shared/errors.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import type { DynamoStreamSource, StreamInfo } from '../dynamodb/plugin.js';

export interface StreamsDeps {
  streams: DynamoStreamSource;
  now(): number;
}

/** "A shard iterator expires 15 minutes after it is retrieved". */
const ITERATOR_TTL_MS = 15 * 60 * 1000;

interface Iterator {
  arn: string;
  shard: string;
  /** The last sequence number consumed ('' = before the first). */
  after: string;
  issued: number;
}

const validation = (message: string) => new AwsError('ValidationException', 400, true, message);

const streamNotFound = (arn: string) =>
  new ResourceNotFoundException(`Requested resource not found: Stream: ${arn} not found`);

function previous(seq: string): string {
  const n = BigInt(seq) - 1n;
  return n < 10n ** 20n ? '' : n.toString();
}

export function streamsOperations(deps: StreamsDeps): Partial<DynamodbstreamsOperations> {
  const { streams } = deps;

  async function stream(
    arn: string,
    ctx: { account: string; region: string },
  ): Promise<StreamInfo> {
    const s = await streams.get(arn);
    if (!s || s.account !== ctx.account || s.region !== ctx.region) throw streamNotFound(arn);
    return s;
  }

  function iterator(token: string): Iterator {
    const it = decodeToken(token) as Partial<Iterator> | undefined;
    if (
      !it ||
      typeof it.arn !== 'string' ||
      typeof it.after !== 'string' ||
      typeof it.issued !== 'number'
    ) {
      throw validation('Invalid ShardIterator');
    }
    if (deps.now() - it.issued > ITERATOR_TTL_MS) {
      throw new ExpiredIteratorException(
        'Iterator expired. The iterator was created at time ' +
          new Date(it.issued).toUTCString() +
          ' while right now it is ' +
          new Date(deps.now()).toUTCString() +
          ' which is further in the future than the tolerated delay of 900000 milliseconds.',
      );
    }
    return it as Iterator;
  }

  return {
    async ListStreams(input, ctx) {
      const all = await streams.list(ctx.account, ctx.region, input.TableName);
      const start = input.ExclusiveStartStreamArn;
      const from = start ? all.filter((s) => s.arn > start) : all;
      const limit = input.Limit ?? 100;
      const page = from.slice(0, limit);
      return {
        Streams: page.map((s) => ({
          StreamArn: s.arn,
          TableName: s.tableName,
          StreamLabel: s.label,
        })),
        LastEvaluatedStreamArn: from.length > limit ? page[page.length - 1].arn : undefined,
      };
    },

    async DescribeStream(input, ctx) {
      const s = await stream(input.StreamArn, ctx);
      const [first] = await streams.read(s, '', 1);
      const last = s.disabledAt ? await streams.latest(s) : '';
      const range: { StartingSequenceNumber?: string; EndingSequenceNumber?: string } = {};
      if (first) range.StartingSequenceNumber = first.dynamodb.SequenceNumber;
      if (last) range.EndingSequenceNumber = last;
      return {
        StreamDescription: {
          StreamArn: s.arn,
          StreamLabel: s.label,
          StreamStatus: s.disabledAt ? 'DISABLED' : 'ENABLED',
          StreamViewType: s.viewType,
          CreationRequestDateTime: new Date(s.createdAt),
          TableName: s.tableName,
          KeySchema: s.keySchema,
          Shards: [{ ShardId: s.shardId, SequenceNumberRange: range }],
        },
      };
    },

    async GetShardIterator(input, ctx) {
      const s = await stream(input.StreamArn, ctx);
      if (input.ShardId !== s.shardId) {
        throw new ResourceNotFoundException(`Requested resource not found: Shard does not exist`);
      }
      let after: string;
      switch (input.ShardIteratorType) {
        case 'TRIM_HORIZON':
          after = '';
          break;
        case 'LATEST':
          after = await streams.latest(s);
          break;
        case 'AT_SEQUENCE_NUMBER':
        case 'AFTER_SEQUENCE_NUMBER': {
          const seq = input.SequenceNumber;
          if (!seq || !/^\d{21,40}$/.test(seq)) {
            throw validation(
              `Invalid SequenceNumber for ShardIteratorType ${input.ShardIteratorType}: ${seq ?? 'null'}`,
            );
          }
          after = input.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? previous(seq) : seq;
          break;
        }
      }
      const it: Iterator = { arn: s.arn, shard: s.shardId, after, issued: deps.now() };
      return { ShardIterator: encodeToken(it) };
    },

    async GetRecords(input, ctx) {
      const it = iterator(input.ShardIterator);
      const s = await stream(it.arn, ctx);
      const limit = input.Limit ?? 1000;
      if (limit < 1 || limit > 1000) {
        throw validation(
          `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000`,
        );
      }
      const records = await streams.read(s, it.after, limit);
      const after = records.length ? records[records.length - 1].dynamodb.SequenceNumber : it.after;
      // A disabled stream's shard is closed: once read to its end there is no next iterator.
      const closed = s.disabledAt !== undefined && records.length < limit;
      return {
        Records: records.map((r): StreamsRecord => ({
          ...r,
          // Lambda's event spells these type/principalId; the Streams API Type/PrincipalId.
          userIdentity: r.userIdentity && {
            Type: r.userIdentity.type,
            PrincipalId: r.userIdentity.principalId,
          },
          dynamodb: {
            ...r.dynamodb,
            ApproximateCreationDateTime: new Date(r.dynamodb.ApproximateCreationDateTime * 1000),
          },
        })),
        NextShardIterator: closed
          ? undefined
          : encodeToken({ arn: s.arn, shard: s.shardId, after, issued: deps.now() }),
      };
    },
  };
}
