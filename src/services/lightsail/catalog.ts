/**
 * Lightsail's blueprints and bundles: AWS's ids, specs and monthly prices (USD, Linux/Unix,
 * the bundles with a public IPv4 address), as listed on https://aws.amazon.com/lightsail/pricing/
 * for the `_3_0` generation of bundles in effect since 2024-05-01 (the public IPv4 price
 * change), recorded on 2024-05-01. A blueprint here is built offline from Debian bookworm's
 * packages (images/build/lightsail-files.ts), so `version` is Debian's, not Bitnami's.
 */
import type { Blueprint, Bundle } from '../../api/lightsail/types.js';

export const CATALOG_DATE = '2024-05-01';

export interface BlueprintEntry extends Blueprint {
  blueprintId: string;
  /** The login user GetInstanceAccessDetails reports (AWS: admin on Debian, bitnami on Bitnami). */
  username: string;
  /** Public ports a new instance has open (AWS's defaults per blueprint). */
  defaultPorts: number[];
}

const linux = { isActive: true, platform: 'LINUX_UNIX' as const, minPower: 0 };

export const BLUEPRINTS: readonly BlueprintEntry[] = [
  {
    ...linux,
    blueprintId: 'debian_12',
    name: 'Debian',
    group: 'debian',
    type: 'os',
    description: 'Debian 12 (bookworm) from Debian packages: a minimal system with OpenSSH.',
    version: '12',
    versionCode: '1',
    productUrl: 'https://www.debian.org/releases/bookworm/',
    licenseUrl: 'https://www.debian.org/legal/licenses/',
    username: 'admin',
    defaultPorts: [22],
  },
  {
    ...linux,
    blueprintId: 'nginx',
    name: 'Nginx',
    group: 'nginx',
    type: 'app',
    description: "nginx 1.22 from Debian bookworm's packages, serving its default page on port 80.",
    version: '1.22.1',
    versionCode: '1',
    productUrl: 'https://nginx.org/',
    licenseUrl: 'https://nginx.org/LICENSE',
    username: 'bitnami',
    defaultPorts: [22, 80, 443],
  },
  {
    ...linux,
    blueprintId: 'nodejs',
    name: 'Node.js',
    group: 'node',
    type: 'app',
    description: "Node.js 18 and nginx from Debian bookworm's packages.",
    version: '18.19.0',
    versionCode: '1',
    productUrl: 'https://nodejs.org/',
    licenseUrl: 'https://github.com/nodejs/node/blob/main/LICENSE',
    username: 'bitnami',
    defaultPorts: [22, 80, 443],
  },
  {
    ...linux,
    blueprintId: 'lamp_8_bitnami',
    name: 'LAMP (PHP 8)',
    group: 'lamp_8',
    type: 'app',
    description: "Apache 2.4, MariaDB 10.11 and PHP 8.2 from Debian bookworm's packages.",
    version: '8.2',
    versionCode: '1',
    productUrl: 'https://www.php.net/',
    licenseUrl: 'https://www.php.net/license/',
    username: 'bitnami',
    defaultPorts: [22, 80, 443],
  },
  {
    ...linux,
    blueprintId: 'wordpress',
    name: 'WordPress',
    group: 'wordpress',
    type: 'app',
    description: "WordPress 6.1 with Apache and MariaDB from Debian bookworm's packages.",
    version: '6.1.1',
    versionCode: '1',
    productUrl: 'https://wordpress.org/',
    licenseUrl: 'https://wordpress.org/about/license/',
    username: 'bitnami',
    defaultPorts: [22, 80, 443],
  },
];

const bundle = (
  id: string,
  name: string,
  price: number,
  ramSizeInGb: number,
  cpuCount: number,
  diskSizeInGb: number,
  transferPerMonthInGb: number,
  power: number,
): Bundle & {
  bundleId: string;
  price: number;
  ramSizeInGb: number;
  cpuCount: number;
  diskSizeInGb: number;
  transferPerMonthInGb: number;
  supportedPlatforms: 'LINUX_UNIX'[];
} => ({
  bundleId: id,
  name,
  instanceType: id.replace(/_3_0$/, ''),
  price,
  ramSizeInGb,
  cpuCount,
  diskSizeInGb,
  transferPerMonthInGb,
  power,
  isActive: true,
  supportedPlatforms: ['LINUX_UNIX'],
  publicIpv4AddressCount: 1,
});

export const BUNDLES = [
  bundle('nano_3_0', 'Nano', 5.0, 0.5, 2, 20, 1024, 300),
  bundle('micro_3_0', 'Micro', 7.0, 1.0, 2, 40, 2048, 500),
  bundle('small_3_0', 'Small', 12.0, 2.0, 2, 60, 3072, 1000),
  bundle('medium_3_0', 'Medium', 24.0, 4.0, 2, 80, 4096, 2000),
  bundle('large_3_0', 'Large', 44.0, 8.0, 2, 160, 5120, 3000),
  bundle('xlarge_3_0', 'Xlarge', 84.0, 16.0, 4, 320, 6144, 4000),
  bundle('2xlarge_3_0', '2X Large', 164.0, 32.0, 8, 640, 7168, 5000),
] as const;

export type BundleEntry = (typeof BUNDLES)[number];

export const blueprintOf = (id: string): BlueprintEntry | undefined =>
  BLUEPRINTS.find((b) => b.blueprintId === id);

export const bundleOf = (id: string): BundleEntry | undefined =>
  BUNDLES.find((b) => b.bundleId === id);

/** The API's view of a blueprint (without Stratus's own fields). */
export function blueprintView(b: BlueprintEntry): Blueprint {
  const { username: _u, defaultPorts: _p, ...view } = b;
  return view;
}
