/**
 * What answers the VM on the boot network, each a process inside the namespace: dnsmasq (DHCP,
 * and TFTP for a two-line iPXE script that chains to reef's /boot.ipxe) and reef itself
 * (`node dist/cli.js serve`), which serves the maintenance OS from REEF_BOOT_DIR.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootNet, Started } from './net.js';
import { waitForOutput } from './net.js';

export const REEF_PORT = 8080;

/** dnsmasq for DHCP on the tap; iPXE clients (user class "iPXE") get reef.ipxe over TFTP, which chains to reef. */
export const startDnsmasq = async (net: BootNet, dir: string): Promise<Started> => {
  const tftp = join(dir, 'tftp');
  mkdirSync(tftp, { recursive: true });
  writeFileSync(join(tftp, 'reef.ipxe'), `#!ipxe\nisset \${net0/ip} || dhcp\nchain http://${net.gateway}:${REEF_PORT}/boot.ipxe?mac=\${net0/mac}\n`);
  const p = net.start('dnsmasq', [
    '--keep-in-foreground',
    '--log-facility=-',
    '--log-dhcp',
    '--conf-file=/dev/null',
    '--port=0',
    '--user=root',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    `--interface=${net.tap}`,
    '--bind-interfaces',
    `--dhcp-range=${net.dhcpRange[0]},${net.dhcpRange[1]},255.255.255.0,1h`,
    `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
    '--dhcp-authoritative',
    '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-boot=tag:ipxe,reef.ipxe',
    // OVMF's UEFI HTTP boot (after iPXE's `exit 1`, before the disk) gets a URL that reef refuses
    // at once, instead of waiting out its DHCP for a boot URL.
    '--dhcp-vendorclass=set:efihttp,HTTPClient',
    '--dhcp-option-force=tag:efihttp,60,HTTPClient',
    `--dhcp-boot=tag:efihttp,http://${net.gateway}:${REEF_PORT}/no-uefi-http-boot-here.efi`,
    '--enable-tftp',
    `--tftp-root=${tftp}`,
  ]);
  await waitForOutput(p, /TFTP root is/, 'dnsmasq');
  return p;
};

/** How the VM gets the maintenance OS: reef serves it from REEF_BOOT_DIR and chains it with its own arguments. */
export const serveMaintenanceOs = (imageDir: string): Record<string, string> => ({ REEF_BOOT_DIR: imageDir });

export interface ReefInNs {
  proc: Started;
  /** How the test reaches the API from the host (over the veth). */
  apiUrl: string;
  /** How the VM reaches reef: its public URL. */
  publicUrl: string;
  token: string;
  dataDir: string;
}

/**
 * `node dist/cli.js serve` in the namespace, on all its addresses (the tap for the VM, the veth for
 * the test), REEF_PUBLIC_URL on the tap. The API is called with the admin token reef writes at first start.
 */
export const startReefInNs = async (net: BootNet, dir: string, env: Record<string, string>): Promise<ReefInNs> => {
  const dataDir = join(dir, 'reef-data');
  const publicUrl = `http://${net.gateway}:${REEF_PORT}`;
  const proc = net.start(process.execPath, ['dist/cli.js', 'serve'], {
    REEF_LISTEN: `0.0.0.0:${REEF_PORT}`,
    REEF_PUBLIC_URL: publicUrl,
    REEF_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...env,
  });
  await waitForOutput(proc, /reef listening on/, 'reef serve');
  return { proc, apiUrl: `http://${net.nsSide}:${REEF_PORT}`, publicUrl, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(), dataDir };
};
