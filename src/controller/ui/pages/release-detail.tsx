import type { Child } from 'hono/jsx';
import type { FieldIssue } from '../../../core/errors.js';
import { createIssueIndex } from '../field-issues.js';
import type { Viewer } from '../layout.js';
import { Bytes, Csrf, FieldErrors, KeyValues, Status, Table, Time } from '../parts.js';
import type { ReleasesPort } from '../ui-deps.js';
import { iso, ReleaseActions, releaseHref } from './release-parts.js';
import { LivePanel } from './release-tabs.js';

export interface IsoFormState {
  issues: FieldIssue[];
  /** An error that names no field (the release's installer failed, say). */
  error?: string;
  install_config?: string;
  agent_config?: string;
}

/** A pasted document or an uploaded file for one of the two agent inputs; the errors of either show on the pair. */
const ConfigField = (p: { name: 'install_config' | 'agent_config'; label: string; value: string | undefined; errors: string[] }) => {
  const bad = p.errors.length > 0;
  const describedBy = bad ? `${p.name}-error` : undefined;
  return (
    <fieldset aria-describedby={describedBy}>
      <legend>{p.label}</legend>
      <label for={p.name}>Paste the YAML</label>
      <textarea id={p.name} name={p.name} rows={10} class="short" aria-invalid={bad ? 'true' : undefined} aria-describedby={describedBy}>
        {p.value ?? ''}
      </textarea>
      <label for={`${p.name}_file`}>or upload the file</label>
      <input type="file" id={`${p.name}_file`} name={`${p.name}_file`} accept=".yaml,.yml,text/yaml,application/yaml" aria-invalid={bad ? 'true' : undefined} aria-describedby={describedBy} />
      <FieldErrors id={p.name} messages={p.errors} />
    </fieldset>
  );
};

/** The agent ISO form (multipart: each document pasted or uploaded), its errors on the fields they name. */
export const IsoForm = (p: { tag: string; viewer: Viewer; state: IsoFormState }) => {
  const index = createIssueIndex(p.state.issues);
  const install = index.take('install_config', true);
  const agent = index.take('agent_config', true);
  const rest = index.rest();
  return (
    <form method="post" action={`${releaseHref(p.tag)}/iso`} enctype="multipart/form-data" aria-label={`Agent ISO of ${p.tag}`}>
      <Csrf token={p.viewer.csrf} />
      {p.state.error ? (
        <p class="errors" role="alert">
          {p.state.error}
        </p>
      ) : null}
      {rest.length ? (
        <p class="errors" role="alert">
          {rest.map((i) => `${i.path}: ${i.message}`).join('; ')}
        </p>
      ) : null}
      <ConfigField name="install_config" label="install-config.yaml" value={p.state.install_config} errors={install} />
      <ConfigField name="agent_config" label="agent-config.yaml" value={p.state.agent_config} errors={agent} />
      <p>
        <button type="submit">Create agent ISO</button>
      </p>
    </form>
  );
};

/** One release: its fields, verify report, live counters while it is busy, artifacts, agent ISOs and actions. */
export const releaseDetail = (r: ReleasesPort, viewer: Viewer, name: string, pollMs: number, isoState: IsoFormState = { issues: [] }): Child => {
  const { release: rel } = r.service.status(name);
  const artifacts = r.artifacts.artifacts(rel.tag);
  // An agent ISO's id is its capability URL (the ISO holds the install's pull secret): operators only.
  const isos = viewer.canWrite ? r.artifacts.agentIsos(rel.tag) : [];
  const v = rel.verify;
  const busy = rel.state === 'cloning' || rel.state === 'extracting';
  return (
    <>
      <p>
        <a href="/ui/releases?tab=browse">All releases</a>
      </p>
      <KeyValues
        rows={[
          ['State', <Status s={rel.state} />],
          ['Version', rel.version],
          ['Architecture', rel.architecture],
          ['Upstream digest', rel.upstreamDigest ? <code>{rel.upstreamDigest}</code> : '—'],
          ['Discovered', <Time at={iso(rel.discoveredAt)} />],
          ['Cloned', <Time at={iso(rel.clonedAt)} />],
          ['Verified', <Time at={iso(rel.verifiedAt)} />],
          ['Size', <Bytes n={rel.size} />],
          ['Error', rel.error ?? '—'],
          ['Actions', <ReleaseActions viewer={viewer} r={rel} />],
        ]}
      />
      {busy ? (
        <section aria-labelledby="h-live">
          <h2 id="h-live">Progress</h2>
          <LivePanel r={r} focus={rel.tag} pollMs={pollMs} reload />
        </section>
      ) : null}
      <h2>Verify report</h2>
      {v ? (
        <>
          <KeyValues
            rows={[
              ['Complete', v.complete ? 'yes' : 'no'],
              ['Release blobs', `${v.release_blobs_present} of ${v.release_blobs_expected}`],
              ['Component manifests', `${v.component_manifests_ok} of ${v.components_expected}`],
              ['Component blobs', `${v.component_blobs_present} of ${v.component_blobs_expected}`],
            ]}
          />
          {v.problems.length ? (
            <ul class="field-error">
              {v.problems.map((x) => (
                <li>{x}</li>
              ))}
            </ul>
          ) : null}
        </>
      ) : (
        <p class="muted">Not verified yet.</p>
      )}
      <h2>Artifacts</h2>
      <Table caption={`Artifacts of ${rel.tag}`} head={['Name', 'Type', 'Size', 'SHA-256']} empty={!artifacts.length} emptyText="none extracted yet">
        {artifacts.map((a) => (
          <tr>
            <td>
              <a href={a.download_url}>{a.name}</a>
            </td>
            <td>{a.type}</td>
            <td>
              <Bytes n={a.size} />
            </td>
            <td>
              <code>{a.sha256}</code>
            </td>
          </tr>
        ))}
      </Table>
      <h2 id="agent-iso">Agent ISO</h2>
      {isos.length ? (
        <Table caption="Agent ISOs made from this release, newest first" head={['Made', 'ISO', 'Boot script']}>
          {isos.map((e) => (
            <tr>
              <td>
                <Time at={iso(e.time)} />
              </td>
              <td>
                <a href={`/files/installs/${e.id}/agent.iso`}>{`/files/installs/${e.id}/agent.iso`}</a>
              </td>
              <td>
                <a href={`/boot.ipxe?iso=${e.id}`}>{`/boot.ipxe?iso=${e.id}`}</a>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {!viewer.canWrite ? (
        <p class="muted">Making an agent ISO needs the operator role.</p>
      ) : rel.state !== 'ready' ? (
        <p class="muted">Agent ISOs are made from a ready release (cloned and extracted); this one is {rel.state}.</p>
      ) : (
        <IsoForm tag={rel.tag} viewer={viewer} state={isoState} />
      )}
    </>
  );
};

/** What a new agent ISO page shows: where to fetch it and how a machine boots it. */
export const IsoCreated = (p: { tag: string; id: string; iso_url: string; full_url: string }) => (
  <>
    <p class="notice" role="status">
      The agent ISO of {p.tag} is ready.
    </p>
    <KeyValues
      rows={[
        ['ISO', <a href={p.iso_url} data-testid="iso-url">{p.full_url}</a>],
        ['Boot script', <a href={`/boot.ipxe?iso=${p.id}`} data-testid="iso-boot">{`/boot.ipxe?iso=${p.id}`}</a>],
        ['Id', <code>{p.id}</code>],
      ]}
    />
    <p>
      <a href={`${releaseHref(p.tag)}#agent-iso`}>Back to {p.tag}</a>
    </p>
  </>
);
