// Vultr's /v1.json for the lab VM, in the shape a real instance's metadata has
// (https://www.vultr.com/metadata/ and cloud-init's own Vultr tests). cloud-init 26's Vultr
// datasource reads, with no default, instance-v2-id, hostname, region.regioncode, user-data,
// vendor-data and interfaces[] (each with the mac of an existing NIC and ipv4/ipv6
// "additional" lists): a missing one makes it fail and fall back to the NoCloud seed.
import { containerPrefix, formatIPv6, formatPrefix, parseIPv6, parsePrefix, type SubnetChoice } from '../../src/net/ipv6.js';
import { NETWORK_64, ROUTER_IPV4, VM_IPV4, VM_MAC } from './vultr-lab.js';

export interface MetadataOptions {
  instanceId: string;
  hostname: string;
  publicKeys: string[];
  userData?: string;
  /** Replaces the public interface's ipv6 block (to serve bad metadata). */
  ipv6?: unknown;
  /** Replaces the public interface's ipv4 block (an instance without public IPv4). */
  ipv4?: unknown;
}

/** Vultr's vendor-data turns on root and password logins; the project's cloud.cfg ignores it. */
export const VULTR_VENDOR_DATA = '#cloud-config\ndisable_root: false\nssh_pwauth: true\nruncmd:\n- touch /root/LAB-VENDOR-DATA-RAN\n';

/** The EUI-64 address SLAAC gives the VM's MAC in the lab's /64 (what Vultr's metadata lists). */
export function vmSlaacAddress(network64 = NETWORK_64): string {
  const bytes = VM_MAC.split(':').map((b) => parseInt(b, 16));
  bytes[0]! ^= 0x02;
  const iid = [...bytes.slice(0, 3), 0xff, 0xfe, ...bytes.slice(3)].reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  return formatIPv6(parsePrefix(network64)!.network | iid);
}

/** The /80 the CLI computes (src/net/ipv6.ts) for the VM's SLAAC address in a lab /64: what Docker must get. */
export function labContainerPrefix(subnet: SubnetChoice = 'auto', network64 = NETWORK_64): string {
  return formatPrefix(containerPrefix(parsePrefix(network64)!, parseIPv6(vmSlaacAddress(network64)), subnet));
}

export function vultrMetadata(options: MetadataOptions): object {
  const [network] = NETWORK_64.split('/');
  return {
    bgp: { ipv4: { 'my-address': '', 'my-asn': '', 'peer-address': '', 'peer-asn': '' }, ipv6: { 'my-address': '', 'my-asn': '', 'peer-address': '', 'peer-asn': '' } },
    hostname: options.hostname,
    'instance-v2-id': options.instanceId,
    instanceid: '70000001',
    interfaces: [
      {
        ipv4: options.ipv4 ?? { additional: [], address: VM_IPV4, gateway: ROUTER_IPV4, netmask: '255.255.255.0' },
        ipv6: options.ipv6 ?? { additional: [], address: vmSlaacAddress(), network, prefix: '64' },
        mac: VM_MAC,
        'network-type': 'public',
      },
    ],
    'public-keys': options.publicKeys,
    region: { regioncode: 'EWR', countrycode: 'US' },
    'user-defined': [],
    'startup-script': '',
    'user-data': options.userData ?? '',
    'vendor-data': VULTR_VENDOR_DATA,
  };
}
