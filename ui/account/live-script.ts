/**
 * The one script of the account center's pages: a part marked `data-live` (the processes list, a disconnect
 * under way) is fetched again every few seconds and swapped in place. Progressive enhancement only: without
 * it, the page's Refresh link does the same. A part the server no longer marks live stops the refreshing.
 * The account pages' own few styles are served here too.
 */
import { Hono } from 'hono';

export const liveScriptPath = '/assets/account-processes.js';

export const liveScript = `
(function(){
  var every=4000;
  function tick(){
    var live=document.querySelector('[data-live]');
    if(!live||!window.fetch||!window.DOMParser)return;
    fetch(window.location.href,{credentials:'same-origin',headers:{accept:'text/html'}})
    .then(function(r){if(!r.ok)throw new Error('refresh failed');return r.text();})
    .then(function(html){
      var next=new DOMParser().parseFromString(html,'text/html').getElementById(live.id);
      if(!next)return;
      live.replaceWith(document.importNode(next,true));
      if(next.hasAttribute('data-live'))setTimeout(tick,every);
    })
    .catch(function(){setTimeout(tick,every*2);});
  }
  setTimeout(tick,every);
})();
`;

const headers = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'public, max-age=3600',
  'x-content-type-options': 'nosniff',
};

/** The account center's few styles beside the shared sheet. */
export const accountStylesPath = '/assets/account-pages.css';
const accountStyles = `
details.scopes{flex-basis:100%;margin:0}details.scopes summary{cursor:pointer;color:var(--muted)}details.scopes p{margin:.25rem 0 .25rem 1rem}
`;

export const liveScriptRoutes = new Hono()
  .get(liveScriptPath, (c) => c.body(liveScript, 200, headers))
  .get(accountStylesPath, (c) => c.body(accountStyles, 200, { ...headers, 'content-type': 'text/css; charset=utf-8' }));
