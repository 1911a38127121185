/** The `reef ignition` lines of `reef --help` (kept apart so the top-level help loads no Ignition code). */
export const IGNITION_HELP = `  reef ignition discovery|pointer [--label data] [--version 3.1.0|3.2.0] [--images-dir /var/mnt]
                        [--ssh-key 'ssh-ed25519 …']... [--ssh-key-file F]
                        print the pre-staging discovery or pointer Ignition override
  reef ignition assisted [same flags]   the Assisted Service PATCH bodies (infra-env, host ignition, installer-args)
  reef ignition siteconfig [same flags] the SiteConfig and ClusterInstance snippets (YAML)
  reef ignition validate <file|->       check an Ignition config (schema + reef's rules); exit 1 if invalid
`;
