/**
 * The UI's own stylesheet and script, served from /ui/assets (no CDN, no build step). Kept as
 * text here so `npm run build` carries them into dist/ with the code that serves them.
 */

export const UI_CSS = `
:root { --fg: #1b1f24; --muted: #4a5360; --bg: #ffffff; --panel: #f4f6f8; --line: #c9d1d9; --accent: #0b5cad;
  --ok: #1a6b32; --bad: #a4161a; --warn: #7a4a00; --focus: #ffbf47; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; font-size: 15px; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 5px var(--fg); }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; z-index: 2; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1.2rem; background: #102a43; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; font-size: 1.15rem; text-decoration: none; }
header.top .who { margin-left: auto; display: flex; gap: .8rem; align-items: center; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff; }
nav.main ul { display: flex; flex-wrap: wrap; gap: .2rem .9rem; list-style: none; margin: 0; padding: 0; }
nav.main a { text-decoration: none; padding: .2rem .1rem; }
nav.main a[aria-current="page"] { border-bottom: 3px solid #fff; font-weight: 600; }
main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.4rem 0 .6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .8rem; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
.card h2 { margin: 0 0 .4rem; font-size: 1rem; }
.big { font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
.table-wrap { overflow-x: auto; }
td code { word-break: break-all; }
code, pre, textarea { font-family: ui-monospace, monospace; font-size: .9rem; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 28rem; }
.badge { display: inline-block; min-width: 6.5rem; padding: .05rem .45rem; border-radius: 3px; border: 1px solid currentColor; font-size: .85rem; text-align: center; }
.s-succeeded, .s-ready, .s-ok { color: var(--ok); } .s-failed, .s-error { color: var(--bad); } .s-canceled, .s-warn, .s-running, .s-provisioning { color: var(--warn); } .s-queued { color: var(--muted); }
form.inline { display: inline; }
button, .button { font: inherit; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
input[type=text], input[type=password], input[type=search], select, textarea { font: inherit; padding: .35rem .45rem; border: 1px solid #6b7785; border-radius: 4px; max-width: 100%; }
textarea { width: 100%; min-height: 22rem; }
.field-error { color: var(--bad); font-weight: 600; margin: .2rem 0; }
[aria-invalid="true"] { border-color: var(--bad) !important; border-width: 2px !important; }
.errors { border: 2px solid var(--bad); padding: .5rem 1rem; margin: .6rem 0; }
.notice { border: 2px solid var(--ok); padding: .5rem 1rem; margin: .6rem 0; }
.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin-bottom: .8rem; }
.filters label { margin: 0 0 .2rem; }
.progress { display: grid; grid-template-columns: 9rem 1fr; gap: .3rem 1rem; }
.progress dt { font-weight: 600; } .progress dd { margin: 0; font-variant-numeric: tabular-nums; }
.bar { width: 100%; max-width: 32rem; height: 1.1rem; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline li { display: grid; grid-template-columns: 12rem 4rem 1fr; gap: .6rem; padding: .25rem 0; border-bottom: 1px solid var(--line); }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } .kv dt { font-weight: 600; } .kv dd { margin: 0; word-break: break-all; }
.tabs { display: flex; gap: .5rem; flex-wrap: wrap; margin: .4rem 0 1rem; }
.tabs ul { display: flex; flex-wrap: wrap; gap: .4rem; list-style: none; margin: 0; padding: 0; }
.tabs a { display: inline-block; padding: .3rem .8rem; border: 1px solid var(--accent); border-radius: 4px; text-decoration: none; }
.tabs a[aria-current="page"] { background: var(--accent); color: #fff; font-weight: 600; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.actions { display: flex; flex-wrap: wrap; gap: .3rem; } .live h3 { margin: 0 0 .4rem; font-size: 1rem; } .live-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); gap: .8rem; } .live .progress dd { white-space: nowrap; } .live .bar { width: calc(100% - 5rem); } .live .progress label { margin: 0; }
@media (min-width: 901px) { .live .progress { grid-template-columns: 11rem 1fr; } }
textarea.short { min-height: 10rem; } pre.log { white-space: pre-wrap; overflow-wrap: anywhere; } fieldset { border: 1px solid var(--line); margin: .6rem 0; }
.s-cloned, .s-success { color: var(--ok); } .s-cloning, .s-extracting, .s-warning, .s-reset { color: var(--warn); } .s-available, .s-info { color: var(--muted); }
@media (max-width: 900px) { ol.timeline li { grid-template-columns: 1fr; gap: 0; } .progress { grid-template-columns: 1fr; } }
`;

export const UI_JS = `
(function () {
  'use strict';
  var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  function localTimes(root) {
    (root || document).querySelectorAll('time[datetime]').forEach(function (t) {
      if (t.dataset.local) return;
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d.getTime())) { t.textContent = fmt.format(d); t.dataset.local = '1'; }
    });
  }
  function connect(el) {
    var source = new EventSource(el.getAttribute('data-sse'));
    source.addEventListener('end', function () { source.close(); });
    el.querySelectorAll('[data-sse-swap]').forEach(function (target) {
      var name = target.getAttribute('data-sse-swap');
      source.addEventListener(name, function (ev) {
        if (target.getAttribute('data-sse-mode') === 'prepend') target.insertAdjacentHTML('afterbegin', ev.data);
        else target.innerHTML = ev.data;
        localTimes(target);
      });
    });
    window.addEventListener('pagehide', function () { source.close(); });
  }
  // <input type=file data-fill=ID>: reads the chosen file into the textarea ID (nothing is uploaded twice).
  function fillFromFile(input) {
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.getAttribute('data-fill'));
      if (file && target) file.text().then(function (text) { target.value = text; });
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    localTimes(document);
    document.querySelectorAll('input[type=file][data-fill]').forEach(fillFromFile);
    document.querySelectorAll('[data-sse]').forEach(connect);
  });
  document.addEventListener('htmx:afterSettle', function (ev) { localTimes(ev.target); });
})();
`;
