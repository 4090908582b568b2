/**
 * GetDimensionValues and GetTags: the values seen in the period's line items.
 * https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetDimensionValues.html
 */
import type { CeOperations } from '../../api/ce/operations.js';
import type { Dimension } from '../../api/ce/types.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import { InvalidNextTokenException } from '../../api/ce/errors.js';
import {
  dimensionValue,
  DIMENSIONS,
  filterLines,
  linesFor,
  periodOf,
  TagLookup,
  validation,
  type CeDeps,
} from './common.js';

type DimensionOps = Pick<CeOperations, 'GetDimensionValues' | 'GetTags'>;

/** AWS's page size for both: "The maximum value is 1000" (default 1000 here too). */
const MAX_RESULTS = 1000;

function page(values: string[], maxResults: number | undefined, token: string | undefined) {
  let offset = 0;
  if (token !== undefined) {
    const decoded = decodeToken(token) as { offset?: unknown } | null | undefined;
    if (!decoded || typeof decoded.offset !== 'number' || decoded.offset < 0)
      throw new InvalidNextTokenException('Invalid pagination token');
    offset = decoded.offset;
  }
  const size = Math.min(maxResults ?? MAX_RESULTS, MAX_RESULTS);
  const slice = values.slice(offset, offset + size);
  const next =
    offset + slice.length < values.length
      ? encodeToken({ offset: offset + slice.length })
      : undefined;
  return { slice, next };
}

function search(values: Iterable<string>, s: string | undefined): string[] {
  const wanted = s?.toLowerCase();
  return [...new Set(values)]
    .filter((v) => wanted === undefined || v.toLowerCase().includes(wanted))
    .sort();
}

export function dimensionOperations(deps: CeDeps): DimensionOps {
  return {
    async GetDimensionValues(input, ctx) {
      const [start, end] = periodOf(input.TimePeriod);
      if (input.Context !== undefined && input.Context !== 'COST_AND_USAGE') {
        return { DimensionValues: [], ReturnSize: 0, TotalSize: 0 };
      }
      const tags = new TagLookup(deps.resources);
      const lines = await filterLines(
        await linesFor(deps, ctx.account, start, end),
        input.Filter,
        tags,
      );
      const d: Dimension = input.Dimension;
      const known = (DIMENSIONS as readonly string[]).includes(d);
      const values = search(
        known ? lines.map((l) => dimensionValue(l, d)).filter((v): v is string => !!v) : [],
        input.SearchString,
      );
      const { slice, next } = page(values, input.MaxResults, input.NextPageToken);
      return {
        DimensionValues: slice.map((Value) => ({
          Value,
          Attributes: (d === 'LINKED_ACCOUNT' ? { description: Value } : {}) as Record<
            string,
            string
          >,
        })),
        ReturnSize: slice.length,
        TotalSize: values.length,
        ...(next !== undefined && { NextPageToken: next }),
      };
    },

    async GetTags(input, ctx) {
      const [start, end] = periodOf(input.TimePeriod);
      if (input.MaxResults !== undefined && input.MaxResults < 1)
        throw validation('MaxResults must be at least 1');
      const tags = new TagLookup(deps.resources);
      const lines = await filterLines(
        await linesFor(deps, ctx.account, start, end),
        input.Filter,
        tags,
      );
      const found: string[] = [];
      for (const arn of new Set(lines.map((l) => l.resource))) {
        const t = await tags.of(arn);
        if (input.TagKey === undefined) found.push(...Object.keys(t));
        else if (t[input.TagKey] !== undefined) found.push(t[input.TagKey]);
      }
      const values = search(found, input.SearchString);
      const { slice, next } = page(values, input.MaxResults, input.NextPageToken);
      return {
        Tags: slice,
        ReturnSize: slice.length,
        TotalSize: values.length,
        ...(next !== undefined && { NextPageToken: next }),
      };
    },
  };
}
