import type { Child } from 'hono/jsx';
import { CSRF_FIELD } from '../auth/ui-session.js';
import { formatBytes } from '../../ignition/prestage/sizes.js';

/** A time the browser shows in its own zone (ui.js); the ISO text is what shows without script. */
export const Time = (p: { at: string | null | undefined }) => (p.at ? <time datetime={p.at}>{p.at}</time> : <span class="muted">—</span>);

export const Bytes = (p: { n: number | null | undefined }) => (p.n === null || p.n === undefined ? <span class="muted">—</span> : <span title={`${p.n} bytes`}>{formatBytes(p.n)}</span>);

export const Status = (p: { s: string }) => <span class={`badge s-${p.s}`}>{p.s}</span>;

/** The hidden CSRF field every form carries (checked by the access gate). */
export const Csrf = (p: { token: string }) => <input type="hidden" name={CSRF_FIELD} value={p.token} />;

export const Table = (p: { caption: string; head: string[]; children: Child; empty?: boolean; emptyText?: string; bodyId?: string }) => (
  <div class="table-wrap" tabindex={0} role="region" aria-label={p.caption}>
    <table>
      <caption class="muted">{p.caption}</caption>
      <thead>
        <tr>
          {p.head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody id={p.bodyId}>
        {p.empty ? (
          <tr>
            <td colspan={p.head.length}>{p.emptyText ?? 'nothing yet'}</td>
          </tr>
        ) : (
          p.children
        )}
      </tbody>
    </table>
  </div>
);

/** A labelled key/value list. */
export const KeyValues = (p: { rows: [string, Child][] }) => (
  <dl class="kv">
    {p.rows.map(([k, v]) => (
      <>
        <dt>{k}</dt>
        <dd>{v}</dd>
      </>
    ))}
  </dl>
);

export const Notice = (p: { text: string | undefined }) => (p.text ? <p class="notice" role="status">{p.text}</p> : null);

/** Preformatted text that may scroll: focusable, so a keyboard can scroll it too. */
export const Pre = (p: { label: string; children: Child }) => (
  <pre tabindex={0} aria-label={p.label}>
    {p.children}
  </pre>
);

/** A field's error messages, under it; the field points at them with aria-describedby="<id>-error". */
export const FieldErrors = (p: { id: string; messages: string[] }) =>
  p.messages.length ? (
    <p class="field-error" id={`${p.id}-error`}>
      {p.messages.join('; ')}
    </p>
  ) : null;

/** A labelled choice among `options` ("any" first), for filter forms; its errors under it. */
export const SelectField = (p: { id: string; label: string; options: readonly string[]; current: string | undefined; messages?: string[] }) => {
  const messages = p.messages ?? [];
  return (
    <div>
      <label for={p.id}>{p.label}</label>
      <select id={p.id} name={p.id} aria-invalid={messages.length ? 'true' : undefined} aria-describedby={messages.length ? `${p.id}-error` : undefined}>
        <option value="">any</option>
        {p.options.map((o) => (
          <option value={o} selected={p.current === o}>
            {o}
          </option>
        ))}
      </select>
      <FieldErrors id={p.id} messages={messages} />
    </div>
  );
};
