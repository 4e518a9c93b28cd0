import { createHash } from 'node:crypto';

/**
 * The console's only static files, served by the API function itself (no bucket, no CDN to
 * deploy). The script does two things and nothing else: refresh the `data-live` regions every
 * `data-refresh-seconds` without touching what the admin typed, and submit `data-js` forms without
 * a full reload (after a confirmation where the form asks for one). Every form also works without it.
 */
const CSS = `
:root{--ours:#2b6cb0;--others:#d69e2e;--reserve:#f6e05e;--warn:#dd6b20;--sleep:#c53030;--resume:#2f855a;--ink:#1a202c;--muted:#718096}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;color:var(--ink);margin:0;background:#f7fafc}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1rem;background:#1a365d;color:#fff}
header a{color:#fff}.brand{font-weight:700;text-decoration:none}nav{flex:1}nav a{margin-right:.8rem}
.sign-out{margin:0}.sign-out button{font-size:.85rem}main{max-width:70rem;margin:0 auto;padding:1rem}
.banner{background:#fff5f5;border-bottom:3px solid var(--sleep);padding:.4rem 1rem}.banner p{margin:.3rem 0}.banner.empty{display:none}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:1rem;margin:0 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(28rem,1fr));gap:1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin:.2rem 0 .6rem}h3{font-size:1rem}summary h2{display:inline}
.state{font-size:.8rem;padding:.15rem .5rem;border-radius:1rem;vertical-align:middle;color:#fff;background:var(--resume)}
.state-asleep,.state-asleep-by-hand{background:var(--sleep)}.state-blocked-after-a-429{background:#702459}
svg{width:100%;height:auto;display:block}.track{fill:#edf2f7}.ours{fill:var(--ours)}.others{fill:var(--others)}.reserve{fill:var(--reserve)}
.mark-warn{stroke:var(--warn);stroke-width:2}.mark-sleep{stroke:var(--sleep);stroke-width:2}.mark-resume{stroke:var(--resume);stroke-width:2}
.mark-ceiling{stroke:#4a5568;stroke-width:1.5;stroke-dasharray:3 2}.line-limit{stroke:var(--ink);stroke-width:1.5}
.mark-label,.line-label,.axis{font-size:10px;fill:#4a5568}.tick{stroke:#cbd5e0}
.legend{font-size:.8rem;color:var(--muted)}.key{display:inline-block;width:.8rem;height:.8rem;vertical-align:middle}
.key.ours{background:var(--ours)}.key.others{background:var(--others)}.key.reserve{background:var(--reserve)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.6rem 0}.facts dt{font-weight:600}.facts dd{margin:0}
.notice{padding:.6rem 1rem;border-radius:6px;margin:0 0 1rem}.notice.ok{background:#f0fff4;border:1px solid var(--resume)}
.notice.error{background:#fff5f5;border:1px solid var(--sleep)}.notice.empty{display:none}
.field{margin:.4rem 0}.field label{display:block;font-weight:600}.field-error{color:var(--sleep);margin:.2rem 0}
.invalid input,.invalid textarea{border-color:var(--sleep)}fieldset{border:1px solid #e2e8f0;margin:.6rem 0}
input,textarea,button{font:inherit}input:not([type=checkbox]),textarea{padding:.3rem;border:1px solid #a0aec0;border-radius:4px}
textarea{width:100%}button{padding:.35rem .9rem;border-radius:4px;border:1px solid #4a5568;background:#fff;cursor:pointer}
button.primary{background:var(--sleep);color:#fff;border-color:var(--sleep);font-size:1.1rem;padding:.5rem 1.4rem}
.hint{color:var(--muted);font-size:.85rem}.table-wrap{max-height:28rem;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{padding:.2rem .5rem;border-bottom:1px solid #edf2f7;text-align:right}
th:first-child,td:first-child{text-align:left}#transitions td{text-align:left}.sleep-form input{width:100%;max-width:30rem}
`;

const JS = `
(function () {
  'use strict';
  var every = Number(document.body.getAttribute('data-refresh-seconds') || 15) * 1000;
  var parse = function (text) { return new DOMParser().parseFromString(text, 'text/html'); };
  var fields = function (root) { return root.querySelectorAll('input:not([type=hidden]):not([type=submit]),textarea,select'); };
  // Puts a fresh copy of a region in place, keeping what the admin typed in it and where the focus was.
  var replace = function (old, fresh, keepTyped) {
    var typed = {};
    if (keepTyped) fields(old).forEach(function (f) { if (f.name && f.value !== f.defaultValue) typed[f.name] = f.value; });
    var active = document.activeElement && old.contains(document.activeElement) ? document.activeElement : null;
    var focused = active && active.name, caret = null;
    try { caret = active ? [active.selectionStart, active.selectionEnd] : null; } catch (e) { caret = null; }
    old.replaceWith(fresh);
    fields(fresh).forEach(function (f) { if (Object.prototype.hasOwnProperty.call(typed, f.name)) f.value = typed[f.name]; });
    if (focused) {
      var again = fresh.querySelector('[name="' + focused + '"]');
      if (again) { again.focus(); try { if (caret && caret[0] !== null) again.setSelectionRange(caret[0], caret[1]); } catch (e) {} }
    }
  };
  var swapLive = function (doc) {
    doc.querySelectorAll('[data-live]').forEach(function (fresh) {
      var old = fresh.id && document.getElementById(fresh.id);
      if (old) replace(old, document.importNode(fresh, true), true);
    });
    var title = doc.querySelector('h1'), mine = document.querySelector('main h1');
    if (title && mine) mine.replaceWith(document.importNode(title, true));
  };
  var busy = false;
  var refresh = function () {
    if (busy || document.hidden) return;
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) {
        if (res.status === 401) { location.reload(); return; }
        if (res.ok) return res.text().then(function (t) { swapLive(parse(t)); document.body.setAttribute('data-refreshed', String(Date.now())); });
      })
      .catch(function () {})
      .then(function () { busy = false; });
  };
  setInterval(refresh, every);
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-js')) return;
    var question = form.getAttribute('data-confirm');
    event.preventDefault();
    if (question && !window.confirm(question)) return;
    var data = new URLSearchParams(new FormData(form));
    if (question) data.set('confirm', 'yes');
    var region = form.closest('[data-form]');
    fetch(form.action, { method: 'POST', body: data, credentials: 'same-origin',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
      .then(function (res) { return res.text().then(function (t) { return { res: res, doc: parse(t) }; }); })
      .then(function (r) {
        var notice = r.doc.getElementById('notice');
        if (!notice) { form.submit(); return; }
        swapLive(r.doc);
        var fresh = region && region.id && r.doc.getElementById(region.id);
        var old = region && region.id && document.getElementById(region.id);
        if (fresh && old) replace(old, document.importNode(fresh, true), false);
        replace(document.getElementById('notice'), document.importNode(notice, true), false);
        document.body.setAttribute('data-submitted', String(r.res.status));
      })
      .catch(function () { form.submit(); });
  });
})();
`;

const minify = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n');

const version = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

const css = minify(CSS);
const js = minify(JS);

export const ASSETS: Record<string, { type: string; body: string }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: css },
  'console.js': { type: 'text/javascript; charset=utf-8', body: js },
};

/** Versioned URLs: a changed file gets a new URL, so the files may be cached for a year. */
export const ASSET_PATHS = {
  css: `/console/assets/console.css?v=${version(css)}`,
  js: `/console/assets/console.js?v=${version(js)}`,
};
