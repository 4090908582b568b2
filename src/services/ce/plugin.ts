/**
 * AWS Cost Explorer (`ce`, json 1.1, `AWSInsightsIndexService`): GetCostAndUsage,
 * GetCostForecast, GetDimensionValues and GetTags over the bill of what Stratus ran (the
 * gateway's usage ledger priced by src/billing/), and the same report as a page,
 * `GET /_stratus/cost`, which `stratus cost` prints. Cost Explorer is global: one bill per
 * account, every region in it.
 */
import type { CeOperations } from '../../api/ce/operations.js';
import { freeTierModeFrom } from '../../billing/pricing.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { costPage } from './cost-page.js';
import { ceOperations } from './provider.js';

export const cePlugin = definePlugin({
  name: 'ce',
  global: true,
  needs: ['usage', 'resourcePolicies', 'functionUsage'],
  model: async () => (await import('../../api/ce/model.js')).model,
  create(deps) {
    const freeTier = freeTierModeFrom();
    return {
      dispatch: bindProvider<CeOperations>(
        ceOperations({
          usage: deps.links.usage,
          resources: deps.links.resourcePolicies,
          freeTier,
          now: Date.now,
        }),
      ),
      dataPlanes: [
        costPage({
          usage: deps.links.usage,
          defaultAccount: deps.config.defaultAccount,
          freeTier,
          invocations: (account, from, to) =>
            deps.links.functionUsage.listAccountUsage(account, from, to),
        }),
      ],
    };
  },
});
